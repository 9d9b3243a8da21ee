// The floor for `pgduplex setup`: the same work issued by hand (psql, bash, iptables) on both lab
// nodes, each independent part on both nodes at once. What setup costs above this is pgduplex's own.
import { CHECKSUM_SQL } from '../../agent/actions/table-checksums.js';
import { LAB, nodeExec, type NodeName } from '../../test/lab/index.js';
import { nodePsql as nodeSql } from '../../test/lab/psql.js';
import { PAIR_SETTINGS } from '../../coordinator/setup/steps.js';

const CONF = `/etc/postgresql/${LAB.pgVersion}/main`;
const ROLE = 'bench_repl';
const PUB = 'bench_pub';
const PASSFILE = '/var/lib/postgresql/bench.pgpass';
const LONG = 6 * 3_600_000;

const other = (n: NodeName): NodeName => (n === 'a' ? 'b' : 'a');
const peerIp = (n: NodeName) => LAB.nodes[other(n)].ipv4;
const both = <T>(fn: (n: NodeName) => Promise<T>) => Promise.all([fn('a'), fn('b')]);
const bash = (n: NodeName, script: string, input?: string) =>
  nodeExec(n, ['bash', '-euo', 'pipefail', '-c', script], {
    timeoutMs: LONG,
    ...(input === undefined ? {} : { input }),
  });

/** Odd keys on the source (slot 1), even on the target (slot 2), each sequence restarted above its column's max. */
const sequencesSql = (slot: 1 | 2) => `do $$ declare r record; m bigint; begin
  for r in select c.relname as tbl, a.attname as col, pg_get_serial_sequence(format('%I', c.relname), a.attname) as seq from pg_class c join pg_attribute a on a.attrelid = c.oid
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and a.attnum > 0 and pg_get_serial_sequence(format('%I', c.relname), a.attname) is not null loop
    execute format('select coalesce(max(%I), 0) + 1 from %I', r.col, r.tbl) into m;
    if m % 2 <> ${slot % 2} then m := m + 1; end if;
    execute format('alter sequence %s increment by 2 restart with %s', r.seq, m);
  end loop; end $$;`;

const subscribeSql = (on: NodeName, copyData: boolean) => {
  const from = other(on);
  const conn = `host=${LAB.nodes[from].ipv4} port=5432 dbname=${LAB.database} user=${ROLE} sslmode=require passfile=${PASSFILE} application_name=bench_from_${from}`;
  return `create subscription bench_from_${from} connection '${conn}' publication ${PUB} with (origin = none, copy_data = ${copyData}, binary = true, streaming = parallel,
    disable_on_error = false, password_required = true, run_as_owner = false, failover = false);`;
};

const READY_SQL = `select count(*) filter (where r.srsubstate = 'r') || '/' || count(*) from pg_subscription_rel r join pg_subscription s on s.oid = r.srsubid where s.subname = 'bench_from_a'`;

/** Checksums of every table on both nodes at once (the query setup's verify runs); throws when they differ. */
export async function checksumsBoth(): Promise<void> {
  const [sa, sb] = await both((n) => nodeSql(n, `\\set schema public\n${CHECKSUM_SQL}`, { timeoutMs: LONG }));
  if (sa.stdout.trim() !== sb.stdout.trim()) throw new Error(`the two databases differ:\n${sa.stdout}\n${sb.stdout}`);
}

/** The floor's wall time, its copy phase and each phase's seconds. */
export interface FloorResult {
  ms: number;
  copyMs: number;
  phases: Record<string, number>;
}

/** Sets up the same replication both ways without pgduplex; both nodes must be as before setup (fixture on a, b empty). */
export async function floorRun(password: string): Promise<FloorResult> {
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  let last = t0;
  const mark = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - last) / 1000;
    last = now;
    return now;
  };
  const settings = (n: NodeName) =>
    [...Object.entries(PAIR_SETTINGS), ['listen_addresses', `localhost,${LAB.nodes[n].ipv4}`]]
      .map(([k, v]) => `alter system set ${k} = '${v}';`)
      .join('\n');
  await both((n) =>
    bash(
      n,
      `iptables -w -I INPUT -s ${peerIp(n)}/32 -p tcp --dport 5432 -j ACCEPT
sed -i '1i hostssl ${LAB.database} ${ROLE} ${peerIp(n)}/32 scram-sha-256' ${CONF}/pg_hba.conf
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -f - >/dev/null`,
      `${settings(n)}\nselect pg_reload_conf();\n`,
    ),
  );
  mark('configure');
  await both((n) =>
    bash(
      n,
      `systemctl restart postgresql@${LAB.pgVersion}-main; until pg_isready -q -h /var/run/postgresql; do sleep 0.1; done`,
    ),
  );
  mark('restart');
  await both((n) =>
    Promise.all([
      nodeSql(
        n,
        `create role ${ROLE} login replication password '${password}';\ngrant select on all tables in schema public to ${ROLE};`,
      ),
      bash(
        n,
        `umask 077; cat > ${PASSFILE}; chown postgres: ${PASSFILE}`,
        `${peerIp(n)}:5432:${LAB.database}:${ROLE}:${password}\n`,
      ),
    ]),
  );
  mark('credentials');
  // b is empty as FS PBX's installer leaves it (uuid-ossp in it): the whole database's schema, extensions included.
  const dump = (
    await nodeExec('a', ['runuser', '-u', 'postgres', '--', 'pg_dump', '--schema-only', LAB.database], {
      timeoutMs: LONG,
    })
  ).stdout;
  await nodeExec(
    'b',
    [
      'runuser',
      '-u',
      'postgres',
      '--',
      'psql',
      '-X',
      '-q',
      '--single-transaction',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      LAB.database,
      '-f',
      '-',
    ],
    { input: dump, timeoutMs: LONG },
  );
  mark('schema');
  await nodeSql('a', sequencesSql(1));
  await both((n) => nodeSql(n, `create publication ${PUB} for all tables;`));
  const copyStart = mark('publish');
  await nodeSql('b', subscribeSql('b', true));
  for (;;) {
    const [ready, total] = (await nodeSql('b', READY_SQL)).stdout.trim().split('/');
    if (Number(total) > 0 && ready === total) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const copyMs = mark('copy') - copyStart;
  await nodeSql('b', sequencesSql(2));
  await nodeSql('a', subscribeSql('a', false));
  mark('reverse');
  await checksumsBoth();
  mark('verify');
  return { ms: performance.now() - t0, copyMs, phases };
}
