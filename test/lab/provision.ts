// Make a booted node look like an FS PBX server: own PG cluster, fusionpbx db/role, md5, firewall.
import { LAB, type NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { LabError, say, sleep } from './sh.js';

const V = LAB.pgVersion;
const CONF = `/etc/postgresql/${V}/main`;
const UNIT = `postgresql@${V}-main`;

async function bash(node: NodeName, script: string, timeoutMs = 120_000): Promise<string> {
  const r = await nodeExec(node, ['bash', '-s'], { input: `set -euo pipefail\n${script}\n`, timeoutMs });
  return r.stdout;
}

async function waitPgReady(node: NodeName): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const r = await nodeExec(node, ['pg_isready', '-q', '-h', '/var/run/postgresql'], { reject: false });
    if (r.exitCode === 0) return;
    await sleep(500);
  }
  const st = await nodeExec(node, ['systemctl', 'status', '--no-pager', UNIT], { reject: false });
  throw new LabError(`node ${node}: PostgreSQL did not become ready:\n${st.stdout.trim()}`);
}

async function recreateCluster(node: NodeName): Promise<void> {
  // A fresh initdb per node: a and b must not share the base image's system identifier.
  await bash(node, `pg_dropcluster ${V} main --stop\npg_createcluster ${V} main --start >/dev/null`);
  await waitPgReady(node);
}

async function createRoleAndDb(node: NodeName, secret: string): Promise<void> {
  if (!/^[A-Za-z0-9_-]+$/.test(secret)) throw new LabError('lab secret has unexpected characters');
  const sql = [
    `CREATE ROLE ${LAB.dbUser} WITH SUPERUSER LOGIN PASSWORD '${secret}';`,
    `CREATE DATABASE ${LAB.database};`,
    `GRANT ALL PRIVILEGES ON DATABASE ${LAB.database} TO ${LAB.dbUser};`,
    '',
  ].join('\n');
  // SQL (with the password) goes over stdin, never argv.
  await nodeExec(node, ['runuser', '-u', 'postgres', '--', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { input: sql });
}

async function fspbxAuthAndListen(node: NodeName): Promise<void> {
  // FS PBX's installer swaps scram-sha-256 for md5 and listens on all addresses.
  await bash(node, [
    `sed -i -E '/^host/ s/scram-sha-256/md5/' ${CONF}/pg_hba.conf`,
    `sed -i -E "s/^#?listen_addresses[[:space:]]*=.*/listen_addresses = '*'/" ${CONF}/postgresql.conf`,
    `grep -q "^listen_addresses = '\\*'" ${CONF}/postgresql.conf`,
    // This host's systemd now and then fails to spawn a unit's process (result "resources"); a retry works.
    `for i in 1 2 3; do systemctl restart ${UNIT} && break; [ $i = 3 ] && exit 1; systemctl reset-failed ${UNIT}; sleep 1; done`,
  ].join('\n'));
  await waitPgReady(node);
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

function firewallScript(): string {
  const lines: string[] = [];
  for (const t of ['iptables', 'ip6tables']) {
    lines.push(`${t} -w -F INPUT`, `${t} -w -A INPUT -i lo -j ACCEPT`);
    lines.push(`${t} -w -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`);
    for (const port of LAB.openTcp) lines.push(`${t} -w -A INPUT -p tcp --dport ${port} -j ACCEPT`);
    lines.push(`${t} -w -A INPUT -p udp --dport ${LAB.openUdp} -j ACCEPT`);
  }
  lines.push('iptables -w -A INPUT -p icmp --icmp-type echo-request -j ACCEPT');
  lines.push('ip6tables -w -A INPUT -p ipv6-icmp -j ACCEPT'); // neighbour discovery needs all of ICMPv6
  lines.push('iptables -w -P INPUT DROP', 'ip6tables -w -P INPUT DROP');
  lines.push('iptables -w -S INPUT | grep -qx -- "-P INPUT DROP"', 'ip6tables -w -S INPUT | grep -qx -- "-P INPUT DROP"');
  return lines.join('\n');
}

/** Why: every test starts from the same FS PBX-like server state on both nodes. */
export async function provisionNode(node: NodeName, secret: string): Promise<void> {
  say(`node ${node}: new PostgreSQL ${V} cluster, fusionpbx database, md5, firewall`);
  await recreateCluster(node);
  await createRoleAndDb(node, secret);
  await fspbxAuthAndListen(node);
  await checkLogin(node, secret);
  await bash(node, firewallScript());
}
