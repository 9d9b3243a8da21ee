import { isIP } from 'node:net';
import { z } from 'zod';
import { anyRequest, firstRefusal, mustBe, pairDatabase, pairSchema, peerAddress, peerListen } from './peer-policy.js';
import { defineAction } from './actions.js';
import { defineChange } from './change.js';
import { pgNameSchema, pgRoleSchema, plainIdentifier as ident, ipText, tcpPort as port } from './identifier.js';
import { REPL_ROLE } from '../replication.js';
import { SETTING_SPECS, validateSetting } from './settings-spec.js';

/**
 * Passwords the agent accepts: printable ASCII without spaces. PostgreSQL's SASLprep leaves pure ASCII
 * unchanged, so a verifier computed here is exactly the one the server would compute.
 */
export const SCRAM_PASSWORD = /^[\x21-\x7e]{16,256}$/;

const fileSnapshot = z.strictObject({
  path: z.string(),
  content: z.string().nullable(),
  mode: z.number().optional(),
  uid: z.number().optional(),
  gid: z.number().optional(),
});

/**
 * `{settings: {name: value}}`: the complete content of pgduplex's drop-in. Names come from the
 * allowlist, values must have their setting's form; `__proto__` is refused, not silently dropped.
 */
const pgSettingsParams = z.strictObject({
  settings: z.preprocess(
    (raw, ctx) => {
      if (typeof raw === 'object' && raw !== null && Object.hasOwn(raw, '__proto__'))
        ctx.addIssue({ code: 'custom', message: '"__proto__" is not a setting pgduplex manages', input: raw });
      return raw;
    },
    z
      .record(z.string().max(64), z.string().max(512))
      .superRefine((settings, ctx) => {
        const entries = Object.entries(settings);
        if (entries.length === 0 || entries.length > SETTING_SPECS.size)
          ctx.addIssue({ code: 'custom', message: `give 1 to ${SETTING_SPECS.size} settings` });
        for (const [name, value] of entries) {
          const c = validateSetting(name, value);
          if (!c.ok) ctx.addIssue({ code: 'custom', message: c.reason, path: [name] });
        }
      })
      .transform(
        (settings) =>
          new Map(
            Object.entries(settings).map(([n, v]) => {
              const c = validateSetting(n, v);
              return [n, c.ok ? c.value : v] as const;
            }),
          ),
      ),
  ),
  /** Keep the other settings pgduplex set and change only these (pg-upgrade's suspension of one setting). */
  merge: z.boolean().optional(),
});

/** `pg-settings`: pgduplex's drop-in holds exactly these settings; undo puts the file back as it was. */
export const pgSettingsChange = defineChange({
  name: 'pg-settings',
  params: pgSettingsParams,
  record: z.strictObject({
    cluster: z.strictObject({ version: z.string(), name: z.string() }),
    snapshot: fileSnapshot,
  }),
  teardown: 'normal',
  noun: 'replication settings',
  restartOnUndo: true,
  peer: (p, pair) => peerListen(p.settings.get('listen_addresses'), pair),
});

/** `pg-hba`: one marked block per peer allowing the replication role in over TLS from its address only. */
export const pgHbaChange = defineChange({
  name: 'pg-hba',
  params: z.strictObject({
    peer: z.string().max(64),
    role: pgRoleSchema,
    database: pgNameSchema,
    /** Also allow physical replication (pg_basebackup); logical replication never needs it. */
    physicalReplication: z.boolean().optional(),
  }),
  record: z.strictObject({ peer: z.string(), before: fileSnapshot, afterSha256: z.string() }),
  teardown: 'normal',
  noun: 'pg_hba.conf block',
  peer: (p, pair) =>
    firstRefusal(
      peerAddress('peer', p.peer, pair),
      mustBe('role', p.role, pair.role, "the pair's role"),
      pairDatabase('database', p.database, pair),
      p.physicalReplication
        ? {
            param: 'physicalReplication',
            why: 'physical replication (a copy of the whole cluster) is never granted to the peer',
          }
        : undefined,
    ),
});

/** `pg-role`: the replication role, its SCRAM password and the grants the initial copy needs. */
export const pgRoleChange = defineChange({
  name: 'pg-role',
  params: z.strictObject({
    role: pgRoleSchema,
    /** Comes over the root-only socket or the encrypted peer channel; never logged, stored or echoed. */
    password: z.string().regex(SCRAM_PASSWORD, 'must be 16-256 printable ASCII characters without spaces'),
    /** SELECT on every table of one schema, which the subscriber's initial table copy needs. */
    grantSelectOn: z.strictObject({ database: pgNameSchema, schema: pgNameSchema }).optional(),
  }),
  record: z.strictObject({
    role: z.string(),
    created: z.boolean(),
    addedAttributes: z.array(z.enum(['LOGIN', 'REPLICATION'])),
    passwordChanged: z.boolean(),
    grants: z
      .strictObject({ database: z.string(), schema: z.string(), usage: z.boolean(), tables: z.array(z.string()) })
      .optional(),
  }),
  teardown: 'normal',
  noun: `role ${REPL_ROLE}`,
  peer: (p, pair) =>
    firstRefusal(
      mustBe('role', p.role, pair.role, "the pair's role"),
      p.grantSelectOn && pairDatabase('grantSelectOn.database', p.grantSelectOn.database, pair),
      p.grantSelectOn && pairSchema('grantSelectOn.schema', p.grantSelectOn.schema, pair),
    ),
});

/** `pg-passfile`: one passfile line per peer connection; the journal holds which line, never the password. */
export const pgPassfileChange = defineChange({
  name: 'pg-passfile',
  params: z.strictObject({
    host: ipText,
    port,
    database: ident,
    user: ident,
    password: z
      .string()
      .min(16)
      .max(200)
      .regex(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces' }),
  }),
  record: z.strictObject({ key: z.string(), replaced: z.boolean(), created: z.boolean().optional() }),
  teardown: 'normal',
  noun: 'passfile line',
  peer: (p, pair) =>
    firstRefusal(
      peerAddress('host', p.host, pair),
      mustBe('user', p.user, pair.role, "the pair's role"),
      pairDatabase('database', p.database, pair),
    ),
});

const serviceResult = z.strictObject({
  cluster: z.string(),
  via: z.enum(['systemd', 'pg_ctlcluster']),
  readyAfterMs: z.number(),
  pendingRestart: z.array(z.string()),
});

/** `pg-service.reload`: re-read the configuration; answers once new sessions see it. */
export const pgServiceReloadAction = defineAction({
  name: 'pg-service.reload',
  mutates: true,
  callers: ['local', 'peer'],
  params: z.strictObject({}),
  result: serviceResult,
  peer: anyRequest,
});

/**
 * `pg-service.restart`: restart and wait for connections; `restoreJournalId` names the pg-settings change to take
 * back if it does not start.
 */
export const pgServiceRestartAction = defineAction({
  name: 'pg-service.restart',
  mutates: true,
  callers: ['local', 'peer'],
  params: z.strictObject({ restoreJournalId: z.string().max(64).optional() }),
  result: serviceResult,
  // When: the agent checks that a pgduplex setting waits for a restart.
  peer: anyRequest,
});

/** `pg.reach`: whether a TCP connection to PostgreSQL at host:port opens from this node, and how fast. */
export const pgReachAction = defineAction({
  name: 'pg.reach',
  aliases: ['pg-reach'],
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({
    host: z.string().refine((h) => isIP(h) !== 0, 'must be an IP address'),
    port,
    timeoutMs: z.number().int().min(100).max(60_000).default(3000),
  }),
  result: z.strictObject({ reachable: z.boolean(), ms: z.number(), error: z.string().optional() }),
  peer: (p, pair) => peerAddress('host', p.host, pair),
});

/** Setup's re-run test for the replication credentials: the role exists and the passfile names the peer. */
export const credentialsStatusAction = defineAction({
  name: 'credentials.status',
  mutates: false,
  callers: ['local', 'peer'],
  params: z.strictObject({
    role: ident,
    peer: z.strictObject({ host: z.string().max(45), port: z.number().int(), database: ident }),
  }),
  result: z.strictObject({ roleExists: z.boolean(), passfileHasPeer: z.boolean() }),
  peer: (p, pair) =>
    firstRefusal(
      mustBe('role', p.role, pair.role, "the pair's role"),
      peerAddress('peer.host', p.peer.host, pair),
      pairDatabase('peer.database', p.peer.database, pair),
    ),
});
