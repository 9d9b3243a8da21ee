// Make a booted node what FS PBX's installer leaves: own PG cluster, md5, fusionpbx db with uuid-ossp, roles, firewall.
import { LAB, type NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { LabError, say, sleep } from './sh.js';

/** Debian's paths and unit of a node's `main` cluster of one major. */
const cluster = (v: number) => ({ v, conf: `/etc/postgresql/${v}/main`, unit: `postgresql@${v}-main` });
type Cluster = ReturnType<typeof cluster>;

async function bash(node: NodeName, script: string, timeoutMs = 120_000): Promise<string> {
  const r = await nodeExec(node, ['bash', '-s'], { input: `set -euo pipefail\n${script}\n`, timeoutMs });
  return r.stdout;
}

async function waitPgReady(node: NodeName, c: Cluster): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const r = await nodeExec(node, ['pg_isready', '-q', '-h', '/var/run/postgresql'], { reject: false });
    if (r.exitCode === 0) return;
    await sleep(500);
  }
  const st = await nodeExec(node, ['systemctl', 'status', '--no-pager', c.unit], { reject: false });
  throw new LabError(`node ${node}: PostgreSQL did not become ready:\n${st.stdout.trim()}`);
}

// Each step below mirrors FS PBX's installer, install/install_postgresql.sh (nemerald-voip/fspbx), and
// goes no further: pgduplex must do whatever else it needs itself. listen_addresses stays Debian's.

async function recreateCluster(node: NodeName, c: Cluster): Promise<void> {
  // `pg_createcluster "$DB_VERSION" main` (the installer runs it when no cluster exists). Made afresh per
  // node: a and b must not share the base image's system identifier.
  await bash(node, `pg_dropcluster ${c.v} main --stop\npg_createcluster ${c.v} main --start >/dev/null`);
  await waitPgReady(node, c);
}

async function md5AndRestart(node: NodeName, c: Cluster): Promise<void> {
  await bash(
    node,
    [
      // `sed -i 's/scram-sha-256/md5/g' /etc/postgresql/"$DB_VERSION"/main/pg_hba.conf`
      `sed -i 's/scram-sha-256/md5/g' ${c.conf}/pg_hba.conf`,
      // `systemctl daemon-reload; systemctl restart postgresql`. This host's systemd now and then fails to
      // spawn a unit's process (result "resources"); a retry works.
      'systemctl daemon-reload',
      `for i in 1 2 3; do systemctl restart postgresql ${c.unit} && break; [ $i = 3 ] && exit 1; systemctl reset-failed ${c.unit}; sleep 1; done`,
    ].join('\n'),
  );
  await waitPgReady(node, c);
}

async function createDbAndRoles(node: NodeName, secret: string): Promise<void> {
  if (!/^[A-Za-z0-9_-]+$/.test(secret)) throw new LabError('lab secret has unexpected characters');
  // What the installer's `sudo -u postgres psql <<EOF` script does (its DO blocks create the roles); SQL (with the
  // password) goes over stdin, never argv.
  const sql = [
    `CREATE DATABASE ${LAB.database};`,
    `\\c ${LAB.database}`,
    'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";',
    `CREATE ROLE ${LAB.dbUser} WITH SUPERUSER LOGIN PASSWORD '${secret}';`,
    `GRANT ALL PRIVILEGES ON DATABASE ${LAB.database} TO ${LAB.dbUser};`,
    `CREATE ROLE freeswitch WITH LOGIN PASSWORD '${secret}';`,
    'SELECT pg_reload_conf();',
    '',
  ].join('\n');
  await nodeExec(node, ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
    input: sql,
  });
}

async function checkLogin(node: NodeName, secret: string): Promise<void> {
  const r = await nodeExec(
    node,
    ['psql', '-X', '-h', '127.0.0.1', '-U', LAB.dbUser, '-d', LAB.database, '-Atc', 'select current_user'],
    { env: { PGPASSWORD: secret }, reject: false },
  );
  if (r.exitCode !== 0 || r.stdout.trim() !== LAB.dbUser) {
    throw new LabError(`node ${node}: fusionpbx login over TCP failed: ${r.stderr.trim()}`);
  }
}

// FS PBX's install/configure_iptables.sh: INPUT policy DROP, loopback, established, its service ports
// for IPv4; for IPv6 only loopback, established and ICMPv6. (Its SIP-scanner string matches and DSCP
// marks change nothing pgduplex touches and need kernel modules the lab host may lack; left out.)
function firewallScript(): string {
  const lines: string[] = [];
  for (const t of ['iptables', 'ip6tables']) {
    lines.push(`${t} -w -F INPUT`, `${t} -w -A INPUT -i lo -j ACCEPT`);
    lines.push(`${t} -w -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`);
  }
  lines.push('ip6tables -w -A INPUT -p ipv6-icmp -j ACCEPT');
  for (const port of LAB.openTcp) lines.push(`iptables -w -A INPUT -p tcp --dport ${port} -j ACCEPT`);
  for (const port of LAB.openUdp) lines.push(`iptables -w -A INPUT -p udp --dport ${port} -j ACCEPT`);
  lines.push('iptables -w -A INPUT -p icmp --icmp-type echo-request -j ACCEPT');
  lines.push('iptables -w -P INPUT DROP', 'ip6tables -w -P INPUT DROP');
  lines.push(
    'iptables -w -S INPUT | grep -qx -- "-P INPUT DROP"',
    'ip6tables -w -S INPUT | grep -qx -- "-P INPUT DROP"',
  );
  return lines.join('\n');
}

/** The node must hold exactly one cluster, this major's (the agent's auto-detection refuses to guess among several). */
async function checkOnlyCluster(node: NodeName, pg: number): Promise<void> {
  const clusters = (await bash(node, `pg_lsclusters -h | awk '{print $1 " " $2}'`)).trim();
  if (clusters !== `${pg} main`)
    throw new LabError(`node ${node}: expected only cluster ${pg}/main, found: ${clusters}`);
  const server = (await bash(node, `runuser -u postgres -- psql -XAtc 'show server_version_num'`)).trim();
  if (Math.floor(Number(server) / 10000) !== pg)
    throw new LabError(`node ${node}: PostgreSQL ${pg} asked for, server_version_num ${server} answers`);
}

/** Why: every test starts from the server FS PBX's installer leaves, on both nodes. */
export async function provisionNode(node: NodeName, secret: string, pg: number = LAB.pgVersion): Promise<void> {
  const c = cluster(pg);
  say(`node ${node}: PostgreSQL ${pg} as FS PBX's installer leaves it (md5, fusionpbx with uuid-ossp), firewall`);
  await recreateCluster(node, c);
  await checkOnlyCluster(node, pg);
  await md5AndRestart(node, c);
  await createDbAndRoles(node, secret);
  await checkLogin(node, secret);
  await bash(node, firewallScript());
}
