#!/usr/bin/node
// PGDUPLEX-PACKAGING-PROBE — a stand-in for pgduplex-agent, never shipped.
//
// packaging/test/nspawn-check.sh packages this file as the agent to prove that
// pgduplex-agent.service's hardening still lets a root agent do its job. It
// behaves like the agent towards systemd (config → exit 78, TCP port, unix
// socket, SIGTERM → exit 0) and, on start, performs every kind of operation
// the real agent needs, plus a few that the sandbox must refuse. Each outcome
// is one JSON line on stdout (so in the journal); the last is the summary.
import { execFile, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  statfsSync,
  unlinkSync,
  writeFileSync,
  chmodSync,
  createWriteStream,
  existsSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { networkInterfaces } from 'node:os';

const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-V')) {
  console.log('probe');
  process.exit(0);
}
const ci = Math.max(args.indexOf('--config'), args.indexOf('-c'));
const configPath = ci >= 0 ? args[ci + 1] : '/etc/pgduplex/agent.json';
let config;
try {
  config = JSON.parse(readFileSync(configPath, 'utf8'));
  if (typeof config?.listen?.port !== 'number') throw new Error('listen.port must be a number');
} catch (err) {
  process.stderr.write(`pgduplex-agent: ${configPath}: ${err.message}\n`);
  process.exit(78);
}

const PG = { uid: 0, gid: 0 };
for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
  const f = line.split(':');
  if (f[0] === 'postgres') Object.assign(PG, { uid: Number(f[2]), gid: Number(f[3]) });
}
const CLUSTER_CONF = '/etc/postgresql/17/main';
const DATA = '/var/lib/postgresql/17/main';

const log = (o) => process.stdout.write(`${JSON.stringify({ probe: true, ...o })}\n`);

/** Runs a program; resolves {code, signal, stdout, stderr}; never rejects. */
const run = (file, argv, opts = {}) =>
  new Promise((resolve) => {
    execFile(file, argv, { timeout: 20_000, ...opts }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, signal: err?.signal ?? null, stdout, stderr }),
    );
  });
const mustRun = async (file, argv, opts) => {
  const r = await run(file, argv, opts);
  if (r.code !== 0) throw new Error(`${file} ${argv.join(' ')}: exit ${r.code} ${r.stderr.trim()}`);
  return r.stdout.trim();
};
const asPostgres = { uid: PG.uid, gid: PG.gid, cwd: '/', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8' } };

// Operations the agent needs: each must succeed.
const needed = [
  [
    'iptables -N/-X (CAP_NET_ADMIN, netlink)',
    async () => {
      await mustRun('iptables', ['-w', '-N', 'PGDX_TEST']);
      await mustRun('iptables', ['-w', '-X', 'PGDX_TEST']);
    },
  ],
  [
    'ip6tables -N/-X',
    async () => {
      await mustRun('ip6tables', ['-w', '-N', 'PGDX_TEST']);
      await mustRun('ip6tables', ['-w', '-X', 'PGDX_TEST']);
    },
  ],
  [
    'iptables -C on an INPUT rule',
    async () => {
      await mustRun('iptables', [
        '-w',
        '-I',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        '5432',
        '-s',
        '192.0.2.1/32',
        '-j',
        'ACCEPT',
      ]);
      await mustRun('iptables', [
        '-w',
        '-C',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        '5432',
        '-s',
        '192.0.2.1/32',
        '-j',
        'ACCEPT',
      ]);
      await mustRun('iptables', [
        '-w',
        '-D',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        '5432',
        '-s',
        '192.0.2.1/32',
        '-j',
        'ACCEPT',
      ]);
    },
  ],
  [
    'iptables-save',
    async () => {
      const out = await mustRun('iptables-save', []);
      if (!out.includes('*filter')) throw new Error('no *filter table in iptables-save output');
    },
  ],
  [
    'iptables-legacy -N/-X (/run/xtables.lock)',
    async () => {
      if (!existsSync('/usr/sbin/iptables-legacy')) return 'skipped: not installed';
      await mustRun('iptables-legacy', ['-w', '-N', 'PGDX_TEST']);
      await mustRun('iptables-legacy', ['-w', '-X', 'PGDX_TEST']);
    },
  ],
  [
    'netfilter-persistent save (writes /etc/iptables)',
    async () => {
      if (!existsSync('/usr/sbin/netfilter-persistent')) return 'skipped: not installed';
      await mustRun('netfilter-persistent', ['save']);
      return `rules.v4 ${statSync('/etc/iptables/rules.v4').size} bytes`;
    },
  ],
  [
    'write+replace+remove a conf.d file as postgres:postgres 0644',
    async () => {
      const dir = `${CLUSTER_CONF}/conf.d`;
      const tmp = `${dir}/.pgdx-probe.conf.tmp`;
      const final = `${dir}/pgdx-probe.conf`;
      writeFileSync(tmp, '# pgduplex packaging probe\n', { mode: 0o644 });
      chownSync(tmp, PG.uid, PG.gid);
      chmodSync(tmp, 0o644);
      renameSync(tmp, final);
      await mustRun('cat', [final], asPostgres); // PostgreSQL (user postgres) can read it
      unlinkSync(final);
    },
  ],
  [
    'rewrite postgres-owned pg_hba.conf in place (same bytes, DAC_OVERRIDE+FOWNER)',
    async () => {
      const f = `${CLUSTER_CONF}/pg_hba.conf`;
      const before = statSync(f);
      writeFileSync(f, readFileSync(f));
      chmodSync(f, before.mode & 0o7777);
      const after = statSync(f);
      if (after.uid !== before.uid || after.mode !== before.mode) throw new Error('owner or mode changed');
    },
  ],
  [
    'systemctl reload postgresql@17-main (PID 1 over its private socket)',
    () => mustRun('systemctl', ['reload', 'postgresql@17-main']),
  ],
  ['systemctl restart postgresql@17-main', () => mustRun('systemctl', ['restart', 'postgresql@17-main'])],
  [
    'systemctl is-active postgresql@17-main',
    async () => {
      const s = await mustRun('systemctl', ['is-active', 'postgresql@17-main']);
      if (s !== 'active') throw new Error(s);
    },
  ],
  [
    'psql -Atc "select 1" as uid/gid postgres (child_process uid/gid)',
    async () => {
      const out = await mustRun('psql', ['-X', '-Atc', 'select 1'], asPostgres);
      if (out !== '1') throw new Error(`got ${out}`);
    },
  ],
  [
    'runuser -u postgres -- psql (PAM session)',
    async () => {
      const out = await mustRun('runuser', ['-u', 'postgres', '--', 'psql', '-X', '-Atc', 'select 2'], { cwd: '/' });
      if (out !== '2') throw new Error(`got ${out}`);
    },
  ],
  [
    'pg_ctlcluster 17 main status (as root)',
    async () => (await mustRun('pg_ctlcluster', ['17', 'main', 'status'])).split('\n')[0],
  ],
  [
    'pg_ctlcluster 17 main status as uid/gid postgres',
    async () => (await mustRun('pg_ctlcluster', ['17', 'main', 'status'], asPostgres)).split('\n')[0],
  ],
  [
    'pg_dump -s as postgres, streamed into /var/backups/pgduplex',
    async () => {
      mkdirSync('/var/backups/pgduplex', { recursive: true });
      const file = '/var/backups/pgduplex/probe.sql';
      const child = spawn('pg_dump', ['-s', 'postgres'], { ...asPostgres, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump exit ${code}`))));
      });
      await Promise.all([pipeline(child.stdout, createWriteStream(file, { mode: 0o600 })), exited]);
      const size = statSync(file).size;
      unlinkSync(file);
      return `${size} bytes`;
    },
  ],
  [
    'statfs the data directory',
    () => {
      const s = statfsSync(DATA);
      if (!(s.bsize > 0 && s.blocks > 0)) throw new Error('empty statfs');
      return `${Math.round((s.bavail * s.bsize) / 2 ** 20)} MiB free`;
    },
  ],
  [
    'read postmaster.pid (0600 postgres) and /proc/<postmaster>',
    () => {
      const pid = readFileSync(`${DATA}/postmaster.pid`, 'utf8').split('\n')[0];
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
      return `postmaster ${pid} ${stat.split(' ')[2]} ${cmd}`;
    },
  ],
  [
    'read /proc/meminfo, /proc/loadavg, count /proc pids',
    () => {
      readFileSync('/proc/meminfo', 'utf8');
      readFileSync('/proc/loadavg', 'utf8');
      return `${readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length} pids visible`;
    },
  ],
  ['network interfaces (netlink)', () => Object.keys(networkInterfaces()).join(',')],
  [
    'kill a child that runs as postgres (CAP_KILL)',
    async () => {
      const child = spawn('sleep', ['60'], { ...asPostgres, stdio: 'ignore' });
      await new Promise((r) => child.on('spawn', r));
      if (!child.kill('SIGTERM')) throw new Error('kill() failed');
      const [code, signal] = await new Promise((r) => child.on('exit', (c, s) => r([c, s])));
      if (signal !== 'SIGTERM') throw new Error(`child exited ${code} ${signal}`);
    },
  ],
  [
    'write /var/lib/pgduplex/x (StateDirectory)',
    () => {
      const st = statSync('/var/lib/pgduplex');
      if ((st.mode & 0o777) !== 0o700 || st.uid !== 0)
        throw new Error(`mode ${(st.mode & 0o777).toString(8)} uid ${st.uid}`);
      writeFileSync('/var/lib/pgduplex/x', 'x');
      const mode = statSync('/var/lib/pgduplex/x').mode & 0o777;
      unlinkSync('/var/lib/pgduplex/x');
      return `new file mode ${mode.toString(8)} (UMask)`;
    },
  ],
  [
    'write /tmp (PrivateTmp)',
    () => {
      writeFileSync('/tmp/pgdx-probe', 'x');
      unlinkSync('/tmp/pgdx-probe');
    },
  ],
];

/** Operations the sandbox must refuse; "ok" means it did refuse. */
const refused = [
  ['write /etc/pgdx-probe', () => writeFileSync('/etc/pgdx-probe', 'x')],
  ['write /usr/lib/pgdx-probe', () => writeFileSync('/usr/lib/pgdx-probe', 'x')],
  ['write /var/lib/postgresql/pgdx-probe', () => writeFileSync('/var/lib/postgresql/pgdx-probe', 'x')],
  ['write /etc/pgduplex/agent.json', () => closeSync(openSync('/etc/pgduplex/agent.json', 'a'))],
  [
    'list /root',
    () => {
      if (readdirSync('/root').length === 0) throw new Error('empty (ProtectHome)');
    },
  ],
  ['write /proc/sys/net/ipv4/ip_forward', () => writeFileSync('/proc/sys/net/ipv4/ip_forward', '0')],
  [
    'create a setuid file in /var/lib/pgduplex',
    () => {
      writeFileSync('/var/lib/pgduplex/suid', '');
      try {
        chmodSync('/var/lib/pgduplex/suid', 0o4755);
      } finally {
        unlinkSync('/var/lib/pgduplex/suid');
      }
    },
  ],
  [
    'create a network namespace (RestrictNamespaces, no CAP_SYS_ADMIN)',
    async () => {
      const r = await run('unshare', ['--net', 'true']);
      if (r.code !== 0) throw new Error(r.stderr.trim() || `exit ${r.code}`);
    },
  ],
];

/** A check that hangs is a failure, not a missing summary. */
const withTimeout = (p, ms = 30_000) =>
  Promise.race([
    p,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`no result after ${ms} ms`)), ms).unref()),
  ]);

async function probeAll() {
  let passed = 0;
  let failed = 0;
  for (const [name, fn] of needed) {
    try {
      const detail = await withTimeout(Promise.resolve().then(fn));
      passed++;
      log({ check: name, want: 'allowed', ok: true, detail: detail ?? undefined });
    } catch (err) {
      failed++;
      log({ check: name, want: 'allowed', ok: false, error: String(err.message ?? err) });
    }
  }
  for (const [name, fn] of refused) {
    try {
      await withTimeout(Promise.resolve().then(fn));
      failed++;
      log({ check: name, want: 'refused', ok: false, error: 'was allowed' });
    } catch (err) {
      passed++;
      log({ check: name, want: 'refused', ok: true, detail: String(err.code ?? err.message ?? err) });
    }
  }
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (k) => status.match(new RegExp(`^${k}:\\s*(.*)$`, 'm'))?.[1];
  log({
    summary: true,
    passed,
    failed,
    capBnd: field('CapBnd'),
    capEff: field('CapEff'),
    noNewPrivs: field('NoNewPrivs'),
    seccomp: field('Seccomp'),
  });
}

const tcp = createServer((s) => s.end('pgduplex probe\n'));
const unix = createServer((s) => s.end('pgduplex probe\n'));
tcp.listen(config.listen.port, config.listen.host ?? '0.0.0.0', () => {
  log({ msg: 'listening', port: config.listen.port });
});
try {
  unlinkSync('/run/pgduplex/agent.sock');
} catch {}
unix.listen('/run/pgduplex/agent.sock', () => chmodSync('/run/pgduplex/agent.sock', 0o600));
probeAll().catch((err) => log({ summary: true, failed: 1, error: String(err) }));

const stop = (signal) => {
  log({ msg: 'stopping', signal });
  tcp.close();
  unix.close();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
