import { fakeAgents } from '../../support/fake-agents.js';
import { describe, expect, it } from 'vitest';
import type { Agents } from '../../../coordinator/setup/agents.js';
import { checkRoom, preflight, type Hazards } from '../../../coordinator/setup/preflight.js';
import type { PairFacts } from '../../../coordinator/setup/steps.js';
import { PgduplexError } from '../../../shared/errors.js';
import { VERSION } from '../../../shared/version.js';

const f: PairFacts = {
  database: 'fusionpbx',
  source: { side: 'local', node: 'a', address: '10.0.0.1' },
  target: { side: 'peer', node: 'b', address: '10.0.0.2' },
  pgPort: 5432,
};
const pg = (over: Record<string, unknown> = {}) => ({
  postgresql: {
    ready: true,
    cluster: '17/main',
    serverVersion: '17.6',
    serverVersionNum: 170006,
    databases: ['postgres', 'fusionpbx'],
    settings: {},
    disk: {
      data: { path: '/var/lib/postgresql', freeBytes: 10 * 2 ** 30 },
      wal: { path: '/var/lib/postgresql', freeBytes: 10 * 2 ** 30 },
    },
    ...over,
  },
});
const hazards = (over: Partial<Hazards> = {}): Hazards => ({
  noReplicaIdentity: [],
  fullIdentity: [],
  sequenceKeys: [],
  unlogged: [],
  largeObjects: 0,
  databaseBytes: 2 ** 30,
  typesWithoutBinary: [],
  tableBytes: 2 ** 29,
  tables: ['public.a', 'public.log', 'public.tmp'],
  extensions: [],
  ...over,
});
const none = { publications: [], subscriptions: [], slots: [], hbaBlocks: [], firewall: [] };
const fake = (facts: Record<string, unknown>, hz: Hazards, foreign: Record<string, unknown> = none): Agents =>
  fakeAgents(async (side: string, action: string) => {
    if (action === 'replication.foreign') return side === 'peer' ? foreign : none;
    return action === 'facts' ? (side === 'local' ? pg() : facts) : hz;
  });
const versions = { local: VERSION, peer: VERSION };
const lines: string[] = [];
const report = (status: string, node: string, what: string) => void lines.push(`${status} ${node} ${what}`);
const refusal = async (p: Promise<unknown>) => {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PgduplexError);
  return err as PgduplexError;
};

describe('setup preflight', () => {
  it('refuses a keyless table without a remedy, naming the table and the cost of each remedy', async () => {
    const hz = hazards({ noReplicaIdentity: [{ table: 'public.log', identity: 'd', updates: 7 }] });
    const err = await refusal(preflight(fake(pg(), hz), f, { remedy: undefined, report }, versions));
    expect(err.message).toContain('public.log (7 updates/deletes so far)');
    expect(err.hint).toContain('--replica-identity-full');
    expect(err.hint).toContain('--exclude-tables-without-key');
  });

  it("refuses replication it did not make before any other refusal, naming the peer's objects", async () => {
    const hz = hazards({ noReplicaIdentity: [{ table: 'public.log', identity: 'd', updates: 7 }] });
    const foreign = { ...none, publications: [{ name: 'fspbx_publication_b', allTables: true }] };
    const err = await refusal(preflight(fake(pg(), hz, foreign), f, { remedy: undefined, report }, versions));
    expect(err.code).toBe('FOREIGN_REPLICATION');
    expect(err.message).toContain('on b: publication fspbx_publication_b (FOR ALL TABLES)');
    expect(err.message).not.toContain('on a:');
  });

  it('publishes everything but the keyless and unlogged tables when told to exclude them', async () => {
    const hz = hazards({
      noReplicaIdentity: [{ table: 'public.log', identity: 'd', updates: 0 }],
      unlogged: ['public.tmp'],
    });
    const r = await preflight(fake(pg(), hz), f, { remedy: 'exclude', report }, versions);
    expect(r.tables).toEqual({ list: [{ schema: 'public', name: 'a' }] });
    expect(r.keyless).toEqual(['public.log']);
  });

  it('keeps FOR ALL TABLES with replica identity FULL', async () => {
    const hz = hazards({ noReplicaIdentity: [{ table: 'public.log', identity: 'n', updates: 0 }] });
    const r = await preflight(fake(pg(), hz), f, { remedy: 'replica-identity-full', report }, versions);
    expect(r.tables).toEqual({ all: true });
  });

  it('refuses an old PostgreSQL, a missing database, a stopped server and a foreign agent version', async () => {
    expect(
      (
        await refusal(
          preflight(
            fake(pg({ serverVersion: '15.8', serverVersionNum: 150008 }), hazards()),
            f,
            { remedy: undefined, report },
            versions,
          ),
        )
      ).message,
    ).toContain('b runs PostgreSQL 15.8');
    expect(
      (
        await refusal(
          preflight(fake(pg({ databases: ['postgres'] }), hazards()), f, { remedy: undefined, report }, versions),
        )
      ).message,
    ).toBe('database fusionpbx does not exist on b');
    expect(
      (
        await refusal(
          preflight(
            fake({ postgresql: { ready: false, code: 'PG_UNREACHABLE', reason: 'connection refused' } }, hazards()),
            f,
            { remedy: undefined, report },
            versions,
          ),
        )
      ).hint,
    ).toContain('systemctl start postgresql');
    const mixed = await refusal(
      preflight(fake(pg(), hazards()), f, { remedy: undefined, report }, { local: VERSION, peer: '9.9.0' }),
    );
    expect(mixed.code).toBe('VERSION_MISMATCH');
    expect(mixed.message).toBe(`setup needs both agents on one pgduplex release: a runs ${VERSION}, b runs 9.9.0`);
    expect(mixed.hint).toContain('upgrade the .deb on a (apt install ./pgduplex_9.9.0_all.deb)');
  });

  it('checks the room for the copy on the target', async () => {
    const pre = await preflight(
      fake(
        pg({ disk: { data: { path: '/srv/pg', freeBytes: 2 ** 30 }, wal: { path: '/srv/pg', freeBytes: 2 ** 30 } } }),
        hazards(),
      ),
      f,
      { remedy: undefined, report },
      versions,
    );
    const err = (() => {
      try {
        checkRoom(f, pre, report);
      } catch (e) {
        return e as PgduplexError;
      }
      return undefined;
    })();
    expect(err?.message).toMatch(
      /^b has 1024 MB free in \/srv\/pg; the copy of fusionpbx \(1024 MB on a\) needs about 1293 MB$/,
    );
  });
});

describe('setup preflight after an interrupted run', () => {
  // Regressions (full fault matrix): kill -9 of the CLI as the restarts began left b's agent restarting
  // PostgreSQL, and the re-run stopped at "the database system is shutting down"; kill -9 of a's agent as
  // b's schema import began left b importing, and the re-run planned on the tables the import replaced.
  it("waits while a node's agent still runs a state-changing action an earlier run left going", async () => {
    const down = {
      postgresql: { ready: false, code: 'PG_UNREACHABLE', reason: 'the database system is shutting down' },
      busyWith: 'pg-service.restart.apply',
    };
    for (const busy of [down, { ...pg(), busyWith: 'schema-import.apply' }]) {
      let calls = 0;
      const agents: Agents = fakeAgents(async (side: string, action: string) => {
        if (action === 'replication.foreign') return none;
        if (action !== 'facts') return hazards();
        if (side === 'local') return pg();
        calls += 1;
        return calls < 3 ? busy : pg();
      });
      lines.length = 0;
      const pre = await preflight(agents, f, { remedy: undefined, report }, versions);
      expect(calls).toBe(3);
      expect(pre.pg.peer.ready).toBe(true);
      expect(lines).toContain(
        `... b preflight: waiting for the agent to finish ${busy.busyWith}, which an earlier run left going`,
      );
    }
  });

  it('does not wait for a PostgreSQL that is down while its agent is idle: it says so at once', async () => {
    const agents: Agents = fakeAgents(async (side: string, action: string) =>
      action !== 'facts'
        ? hazards()
        : side === 'local'
          ? pg()
          : { postgresql: { ready: false, code: 'PG_UNREACHABLE', reason: 'stopped' } },
    );
    const err = await refusal(preflight(agents, f, { remedy: undefined, report }, versions));
    expect(err.code).toBe('PG_UNREACHABLE');
  });
});
