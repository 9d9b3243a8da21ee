import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { replicationHealthSchema } from './replication.js';

const clusterSchema = z.object({
  version: z.string(),
  name: z.string(),
  configDir: z.string(),
  dataDir: z.string(),
  port: z.number(),
  service: z.string(),
});

/** PostgreSQL as the agent last saw it: ready with facts, or not ready with the reason. */
export const postgresHealthSchema = z.object({
  ready: z.boolean(),
  code: z.enum(ERROR_CODES).optional(),
  reason: z.string().optional(),
  cluster: clusterSchema.optional(),
  serverVersion: z.string().optional(),
  serverVersionNum: z.number().optional(),
  walLevel: z.string().optional(),
  dataDirectory: z.string().optional(),
  inRecovery: z.boolean().optional(),
  checkedAt: z.string(),
  /** Seconds since the probe behind this answer started; /health may serve a cached one. */
  ageSeconds: z.number().optional(),
});

/** Host facts from systeminformation and statfs; disk is for the filesystem holding the data dir. */
export const systemHealthSchema = z.object({
  os: z.object({ distro: z.string(), release: z.string(), codename: z.string(), kernel: z.string(), arch: z.string() }),
  load: z.object({ avg1: z.number(), avg5: z.number(), avg15: z.number(), currentPercent: z.number() }),
  memory: z.object({ totalBytes: z.number(), availableBytes: z.number() }),
  disk: z.object({
    path: z.string(),
    freeBytes: z.number().optional(),
    totalBytes: z.number().optional(),
    error: z.string().optional(),
  }),
});

/** The body of GET /health: what an operator or the coordinator needs to trust a node. */
export const healthReportSchema = z.object({
  agent: z.object({ version: z.string(), node: z.string(), uptimeSeconds: z.number(), pid: z.number() }),
  postgresql: postgresHealthSchema,
  system: systemHealthSchema,
  /** pgduplex's subscriptions (incoming) and slots (outgoing, with lag) on this node; absent from older agents. */
  replication: replicationHealthSchema.optional(),
});

export type HealthReport = z.infer<typeof healthReportSchema>;
export type PostgresHealth = z.infer<typeof postgresHealthSchema>;
export type SystemHealth = z.infer<typeof systemHealthSchema>;

/** The body of /health/live and /health/ready: a verdict and, when negative, why. */
export const probeResultSchema = z.object({ ok: z.boolean(), reason: z.string().optional() });
export type ProbeResult = z.infer<typeof probeResultSchema>;
