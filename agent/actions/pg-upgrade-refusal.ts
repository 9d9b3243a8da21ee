import { PgduplexError } from '../../shared/errors.js';
import { gb, type UpgradeFacts } from '../../shared/protocol/upgrade.js';
import { named, refOf } from './pg-upgrade-facts.js';

/** Why the plan cannot go on, with what to do; the facts checked here are the agent's own, whoever asks. */
export function refusal(
  f: UpgradeFacts,
  to: number,
  link: boolean,
  replaceEmpty: boolean,
  rebuild = false,
): PgduplexError | undefined {
  const from = f.current;
  if (Number(from.version) > to)
    return new PgduplexError('REFUSED', `this node runs PostgreSQL ${from.version}, newer than ${to}`, {
      hint: 'pg-upgrade goes to a newer major only',
    });
  if (!f.target.installed)
    return new PgduplexError('TOOL_MISSING', `PostgreSQL ${to} is not installed on this node`, {
      hint: `install it first: apt-get install ${f.target.packages.join(' ')} (then re-run)`,
    });
  const users = [...f.services, ...f.sessions.map((x) => `a session of ${x.user} from ${x.client}`)];
  if (rebuild && users.length > 0)
    return new PgduplexError(
      'REFUSED',
      `the pair's slot here is re-created after the upgrade${
        Number(from.version) < 17 ? ` (pg_upgrade carries none ` + `from ${from.version})` : ''
      }: a write made here before it exists would never reach the peer, and ` +
        `${users.slice(0, 4).join(', ')} can write`,
      { hint: 'stop them for the upgrade (the peer takes the calls meanwhile), then re-run' },
    );
  if (!from.running)
    return new PgduplexError('PG_UNREACHABLE', `PostgreSQL ${named(refOf(from))} is not running`, {
      hint: `start it (systemctl start postgresql@${from.version}-${from.name}); an upgrade starts from a running pair`,
    });
  const e = f.target.existing;
  if (e && !(replaceEmpty && e.empty === true))
    return new PgduplexError('REFUSED', `a cluster ${to}/${from.name} exists already${e.empty ? ' (empty)' : ''}`, {
      hint: e.empty
        ? `installing postgresql-${to} made it; pass --replace-empty to drop it (it holds no database) and upgrade`
        : e.empty === null
          ? `start it (pg_ctlcluster ${to} ${from.name} start) so pgduplex can check it is empty, or remove it`
          : `it holds ${e.databases.join(', ')}: move them and remove it yourself (pg_dropcluster ${to} ${from.name})`,
    });
  if (!link && f.disk.freeBytes < f.disk.clusterBytes * 1.1 + 512 * 1024 ** 2)
    return new PgduplexError(
      'REFUSED',
      `copy mode needs about ${gb(f.disk.clusterBytes * 1.1)} free beside ${from.dataDir}; ${gb(f.disk.freeBytes)} is`,
      { hint: 'free space, or pass --link (fast, but no way back once the new cluster has started)' },
    );
  if (f.unknownColumnOptions.length > 0)
    return new PgduplexError(
      'REFUSED',
      `PostgreSQL ${from.version}'s columns carry ${f.unknownColumnOptions.join(', ')}, which the installed ` +
        `PostgreSQL ${to} does not know: pg_upgrade would fail restoring the schema, with ${from.version} down`,
      { hint: `install a newer postgresql-${to} (released after this node's ${from.version} minor), then re-run` },
    );
  const lost = f.slots.filter((x) => x.walStatus === 'lost');
  if (lost.length > 0)
    return new PgduplexError('REPLICATION_BROKEN', `slot ${lost.map((x) => x.name).join(', ')} has lost its WAL`, {
      hint: 'pg_upgrade carries only usable slots: repair the pair first (pgduplex status says how)',
    });
  const syncing = f.subscriptions.filter((x) => x.notReady > 0);
  if (syncing.length > 0)
    return new PgduplexError(
      'REFUSED',
      `subscription ${syncing[0]!.name} still copies ${syncing[0]!.notReady} tables`,
      {
        hint: 'wait until every table is ready (pgduplex status), then re-run',
      },
    );
  return undefined;
}
