// What the watch bench reads inside a lab node: CPU seconds of PostgreSQL and the agent, PostgreSQL's reads, and
// the age of the agent's open transactions sampled by a psql \watch loop.
import { nodeExec, type NodeName } from '../../test/lab/index.js';
import { nodeSql } from '../../test/lab/sql.js';

/**
 * CPU seconds so far of PostgreSQL (every postgres process, plus the exited backends the postmaster reaped) and of
 * the agent (its own plus the psql children it reaped): /proc's utime+stime and cutime+cstime, in clock ticks.
 */
const CPU_SCRIPT = String.raw`set -eu
tck=$(getconf CLK_TCK)
pm=$(head -1 /var/lib/postgresql/*/main/postmaster.pid)
ag=$(systemctl show -p MainPID --value pgduplex-agent)
for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null || true; done | awk -v pm="$pm" -v ag="$ag" -v tck="$tck" '
{ pid = $1; i = index($0, ") "); n = split(substr($0, i + 2), f, " ")
  # f[1] state, f[2] ppid ... f[12] utime, f[13] stime, f[14] cutime, f[15] cstime
  own = f[12] + f[13]; kids = f[14] + f[15]
  if (pid == pm) pg += own + kids; else if (f[2] == pm) pg += own
  if (pid == ag) agent += own + kids }
END { printf "%.2f %.2f\n", pg / tck, agent / tck }'`;

/** CPU seconds consumed so far on one node by PostgreSQL and by the agent. */
export async function cpuSeconds(node: NodeName): Promise<{ postgres: number; agent: number }> {
  const r = await nodeExec(node, ['bash', '-c', CPU_SCRIPT]);
  const [postgres = NaN, agent = NaN] = r.stdout.trim().split(' ').map(Number);
  return { postgres, agent };
}

/** Bytes PostgreSQL read from the OS into its buffers so far (pg_stat_io; 18 names them read_bytes). */
export async function pgReadBytes(node: NodeName): Promise<number> {
  const text = await nodeSql(
    node,
    `select coalesce(sum(coalesce((to_jsonb(s)->>'read_bytes')::numeric,
       (to_jsonb(s)->>'reads')::numeric * (to_jsonb(s)->>'op_bytes')::numeric)), 0)::bigint from pg_stat_io s`,
  );
  return Number(text);
}

const SAMPLER_PID = '/run/pgduplex-bench-sampler.pid';
// Every 100 ms: the oldest open transaction of the agent's sessions (psql as pgduplex-agent), in milliseconds.
const SAMPLE_SQL = `select coalesce(round(max(extract(epoch from clock_timestamp() - xact_start)) * 1000), 0)
  from pg_stat_activity where application_name = 'pgduplex-agent' and xact_start is not null \\watch 0.1\n`;

/**
 * Starts sampling the agent's transactions on `node`; `stop()` ends the sampler and resolves to the longest
 * transaction age seen (ms) and how many samples were taken.
 */
export function sampleTransactions(node: NodeName): { stop: () => Promise<{ maxMs: number; samples: number }> } {
  const run = nodeExec(
    node,
    [
      'bash',
      '-c',
      `echo $$ > ${SAMPLER_PID}; exec setpriv --reuid=postgres --regid=postgres --clear-groups psql -X -At -d fusionpbx -q`,
    ],
    { input: SAMPLE_SQL, reject: false, timeoutMs: 3_600_000 },
  );
  return {
    stop: async () => {
      await nodeExec(
        node,
        [
          'bash',
          '-c',
          `kill -INT $(cat ${SAMPLER_PID}) 2>/dev/null; sleep 0.3; kill $(cat ${SAMPLER_PID}) 2>/dev/null; rm -f ${SAMPLER_PID}`,
        ],
        { reject: false },
      );
      const out = (await run).stdout
        .split('\n')
        .filter((l) => /^\d+$/.test(l.trim()))
        .map((l) => Number(l.trim()))
        .filter((n) => Number.isFinite(n) && n >= 0);
      return { maxMs: Math.max(0, ...out), samples: out.length };
    },
  };
}
