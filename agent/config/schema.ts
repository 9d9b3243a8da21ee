import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { readSourceNetwork, sourceText } from '../firewall/address.js';

/** Where the agent looks for its config unless `--config` says otherwise. */
export const DEFAULT_CONFIG_PATH = '/etc/pgduplex/agent.json';

/** 7740/tcp: free on an FS PBX host (22, 80, 443, 5060-5091, 5432, 7443, 8021 are taken). */
export const DEFAULT_PORT = 7740;

const absolutePath = z.string().refine(isAbsolute, { message: 'must be an absolute path' });

const listenSchema = z
  .strictObject({
    host: z
      .string()
      .refine((h) => isIP(h) !== 0, {
        message: 'must be an IPv4 or IPv6 address, e.g. "::" (all, IPv4 and IPv6) or "0.0.0.0"',
      })
      .default('::'),
    port: z
      .number({ message: 'must be a number' })
      .int({ message: 'must be a whole number' })
      .min(1, { message: 'must be between 1 and 65535' })
      .max(65535, { message: 'must be between 1 and 65535' })
      .default(DEFAULT_PORT),
  })
  .prefault({});

const postgresqlSchema = z.strictObject({
  version: z.string().regex(/^\d{2,}$/, { message: 'must be a major version such as "17"' }),
  cluster: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: 'must be a Debian cluster name such as "main"' }),
});

const pgName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a plain lower-case PostgreSQL name' });

/** What this node lets its paired peer replicate: every peer request is held to these. */
const pairSchema = z
  .strictObject({
    databases: z.array(pgName).min(1).max(16).default(['fusionpbx']),
    schemas: z.array(pgName).min(1).max(16).default(['public']),
  })
  .prefault({});

const limitsSchema = z
  .strictObject({
    maxBodyBytes: z.number().int().min(0).max(1_048_576).default(4096),
    maxHeaderBytes: z.number().int().min(1024).max(65_536).default(8192),
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(5000),
    healthCacheMs: z.number().int().min(0).max(60_000).default(1000),
    psqlTimeoutMs: z.number().int().min(100).max(3_600_000).default(5000),
    handshakeTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
    maxFrameBytes: z.number().int().min(1024).max(16_777_216).default(65_536),
    maxPendingHandshakes: z.number().int().min(1).max(10_000).default(32),
    /** Handshakes one address may have pending: the peer's own address cannot take every slot either. */
    maxPendingHandshakesPerAddress: z.number().int().min(1).max(1000).default(4),
    /** A connection that sends no hello (the handshake's first message) this long after the upgrade is cut. */
    helloTimeoutMs: z.number().int().min(100).max(60_000).default(2000),
    /** Reads the peer may run here at once; one more gets BUSY (state-changing actions run one at a time). */
    maxConcurrentPeerCalls: z.number().int().min(1).max(256).default(8),
    connectTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
    callTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /** A peer link silent this long after a ping is cut, so calls over a partitioned link fail in seconds. */
    heartbeatMs: z.number().int().min(1000).max(600_000).default(15_000),
    pairingTtlMs: z.number().int().min(10_000).max(3_600_000).default(600_000),
    pairingMaxFailures: z.number().int().min(1).max(100).default(5),
    toolTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** On stop, how long a running state-changing action may take to finish (the unit's TimeoutStopSec exceeds it). */
    stopDrainMs: z.number().int().min(0).max(600_000).default(60_000),
    /** The peer may have this node take this many backups per peerBackupIntervalMs (0: no limit): no disk filled. */
    peerBackupIntervalMs: z.number().int().min(0).max(3_600_000).default(600_000),
    peerBackupsPerInterval: z.number().int().min(1).max(20).default(3),
  })
  .prefault({});

/** A monitoring host or network, kept in the canonical text iptables-save prints (`192.0.2.0/24`, `10.0.0.5/32`). */
const monitoringSource = z.string().transform((value, ctx) => {
  const source = readSourceNetwork(value);
  if (typeof source !== 'string') return sourceText(source);
  const example = /^(is not|must be)/.test(source) ? ' (e.g. "10.0.0.5" or "192.0.2.0/24")' : '';
  ctx.addIssue({ code: 'custom', message: `${source}${example}` });
  return z.NEVER;
});

/** The whole agent.json: strict, so a typo in a key is an error, never a silently ignored setting. */
export const agentConfigSchema = z.strictObject({
  listen: listenSchema,
  socket: absolutePath.default('/run/pgduplex/agent.sock'),
  stateDir: absolutePath.default('/var/lib/pgduplex'),
  nodeName: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: 'must be a host-name-like label' })
    .optional(),
  postgresql: postgresqlSchema.optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  pair: pairSchema,
  /** Hosts that see /health and /metrics in full over TCP; the agent opens its port for them. */
  monitoringHosts: z.array(monitoringSource).max(32).default([]),
  limits: limitsSchema,
});

/** The validated config with every default filled in. */
export type AgentConfig = z.infer<typeof agentConfigSchema>;
