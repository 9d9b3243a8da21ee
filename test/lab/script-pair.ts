// Puts both lab nodes in the state FS PBX's install/setup_logical_replication.sh (nemerald-voip/fspbx) leaves them,
// run on a (its LOCAL) with b as REMOTE, and takes that state away again. Built from the script's description in
// issue 15 and its source; the script itself is not copied or run.
import { LAB, type NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { waitFor } from './http.js';
import { labSecret } from './lab.js';
import { buildFixture, dropFixture } from './fixture/build.js';
import { nodeSql } from './sql.js';

const V = LAB.pgVersion;
const CONF = `/etc/postgresql/${V}/main`;
const UNIT = `postgresql@${V}-main`;
/** Where the node's own files are kept while it is script-made, so removeScriptPair can put them back. */
const SAVED = '/var/lib/pgduplex-lab-script';

/** The script's object names: a is the node it ran on (LOCAL), b the REMOTE. */
export const SCRIPT_NAMES = {
  publication: { a: 'fspbx_publication_a', b: 'fspbx_publication_b' },
  /** Each subscription lives on the node it writes to; its slot, of the same name, on the other. */
  subscription: { b: 'fspbx_subscription_a_to_b', a: 'fspbx_subscription_b_to_a' },
} as const;

const other = (node: NodeName): NodeName => (node === 'a' ? 'b' : 'a');
const ip = (node: NodeName) => LAB.nodes[node].ipv4;

async function bash(node: NodeName, script: string, timeoutMs = 120_000): Promise<string> {
  return (await nodeExec(node, ['bash', '-s'], { input: `set -euo pipefail\n${script}\n`, timeoutMs })).stdout;
}

/** psql as the script runs it: fusionpbx over 127.0.0.1 with the password in PGPASSWORD, never in argv. */
async function asFusionpbx(node: NodeName, sql: string, timeoutMs = 120_000): Promise<string> {
  const argv = ['psql', '-X', '-qAt', '-h', '127.0.0.1', '-U', LAB.dbUser, '-d', LAB.database, '-f', '-'];
  const r = await nodeExec(node, argv, { input: sql, env: { PGPASSWORD: labSecret() }, timeoutMs });
  return r.stdout.trim();
}

/** Restarts PostgreSQL as the script does (systemctl restart postgresql), retrying this host's spawn hiccups. */
async function restart(node: NodeName): Promise<void> {
  await bash(
    node,
    `for i in 1 2 3; do systemctl restart postgresql ${UNIT} && break; [ $i = 3 ] && exit 1; ` +
      `systemctl reset-failed ${UNIT}; sleep 1; done`,
  );
  await waitFor(
    `PostgreSQL on ${node} back`,
    async () => (await nodeExec(node, ['pg_isready', '-q', '-h', '/var/run/postgresql'], { reject: false })).exitCode,
    (c) => c === 0,
    60_000,
  );
}

// The script's configure_postgres_conf: six settings set in postgresql.conf itself by sed.
const confScript = () =>
  [
    `mkdir -p ${SAVED} && [ -e ${SAVED}/postgresql.conf ] || cp -p ${CONF}/postgresql.conf ${CONF}/pg_hba.conf ${SAVED}/`,
    ...[
      "listen_addresses = '*'",
      'wal_level = logical',
      'track_commit_timestamp = on',
      'max_wal_senders = 10',
      'max_replication_slots = 48',
      'max_worker_processes = 48',
    ].map((line) => `sed -i "s/^#*${line.split(' ')[0]}.*/${line}/" ${CONF}/postgresql.conf`),
  ].join('\n');

// The script's configure_pg_hba: its old block for the peer out, local md5 lines appended when missing, the block
// (header, a comment, replication and all for the peer's /32, footer, then an empty line) appended.
const hbaScript = (peer: string) => {
  const header = `# >>> fspbx logical replication (${peer}) >>>`;
  const footer = `# <<< fspbx logical replication (${peer}) <<<`;
  const block = [
    header,
    '# Logical replication peer access',
    `host    replication     ${LAB.dbUser}     ${peer}/32       md5`,
    `host    all             all              ${peer}/32       md5`,
    footer,
    '',
  ].join('\n');
  const has = (addr: string) =>
    `grep -qE '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+${addr}[[:space:]]+md5'`;
  return [
    'hba=' + `${CONF}/pg_hba.conf`,
    't=$(mktemp -p /var/tmp)',
    `awk -v h='${header}' -v f='${footer}' 'BEGIN{s=0} $0==h{s=1} s==0{print} $0==f{s=0}' "$hba" > "$t"`,
    `${has('127\\.0\\.0\\.1/32')} "$t" || echo "host    all   all   127.0.0.1/32   md5" >> "$t"`,
    `${has('::1/128')} "$t" || echo "host    all   all   ::1/128        md5" >> "$t"`,
    `printf '%s\\n' '${block}' >> "$t"`,
    'chmod 640 "$t"; chown postgres:postgres "$t"; mv "$t" "$hba"',
  ].join('\n');
};

// The script's setup_firewall: the rule appended to INPUT unless it is there (no netfilter-persistent in the lab).
const firewallRule = (peer: string) => `INPUT -p tcp --dport ${LAB.pgPort} -s ${peer} -j ACCEPT`;

/** Both subscriptions have a worker that has received from its publisher, and both slots are in use. */
async function streaming(): Promise<boolean> {
  for (const node of ['a', 'b'] as const) {
    const sub = SCRIPT_NAMES.subscription[node];
    const ok = await nodeSql(
      node,
      `select count(*) from pg_stat_subscription s where s.subname = '${sub}' and s.relid is null
         and s.pid is not null and s.received_lsn is not null`,
    );
    const slot = await nodeSql(
      other(node),
      `select count(*) from pg_replication_slots where slot_name = '${sub}' and active`,
    );
    if (ok !== '1' || slot !== '1') return false;
  }
  return true;
}

/**
 * After the lab's provisioning, with the real FS PBX schema and `size` of data loaded on a: both nodes as the
 * script leaves them, a's data copied to b by the script's subscription, both subscriptions streaming.
 */
export async function makeScriptPair(size = '24MB'): Promise<void> {
  await buildFixture('a', size, { noKeyTable: false });
  for (const node of ['a', 'b'] as const) await bash(node, confScript());
  for (const node of ['a', 'b'] as const) await bash(node, hbaScript(ip(other(node))));
  for (const node of ['a', 'b'] as const) {
    const rule = firewallRule(ip(other(node)));
    await bash(node, `iptables -C ${rule} 2>/dev/null || iptables -A ${rule}`);
  }
  for (const node of ['a', 'b'] as const) await restart(node);
  // drop_and_create_schema_remote and copy_schema_to_remote: b's public emptied, a's schema (no data) replayed.
  await asFusionpbx('b', 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  const dump = await nodeExec('a', ['pg_dump', '-h', '127.0.0.1', '-U', LAB.dbUser, '-s', LAB.database], {
    env: { PGPASSWORD: labSecret() },
    timeoutMs: 300_000,
  });
  await asFusionpbx('b', dump.stdout, 300_000);
  for (const node of ['a', 'b'] as const) {
    const pub = SCRIPT_NAMES.publication[node];
    await asFusionpbx(node, `DROP PUBLICATION IF EXISTS ${pub};\nCREATE PUBLICATION ${pub} FOR ALL TABLES;`);
  }
  // b subscribes to a with a copy; once every table is ready, a subscribes to b without one.
  for (const [node, copy] of [
    ['b', true],
    ['a', false],
  ] as const) {
    const sub = SCRIPT_NAMES.subscription[node];
    await asFusionpbx(node, `DROP SUBSCRIPTION IF EXISTS ${sub};`);
    await nodeSql(
      other(node),
      `select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = '${sub}'`,
    );
    await asFusionpbx(
      node,
      [
        '\\getenv pw PGPASSWORD',
        `\\set ci 'host=${ip(other(node))} dbname=${LAB.database} user=${LAB.dbUser} password=' :pw`,
        `CREATE SUBSCRIPTION ${sub} CONNECTION :'ci' PUBLICATION ${SCRIPT_NAMES.publication[other(node)]} ` +
          `WITH (origin = none, copy_data = ${copy});`,
      ].join('\n'),
    );
    if (copy)
      await waitFor(
        `every table of ${sub} ready on ${node}`,
        () =>
          nodeSql(
            node,
            `select coalesce(bool_and(r.srsubstate = 'r'), false) from pg_subscription_rel r
               join pg_subscription s on s.oid = r.srsubid where s.subname = '${sub}'`,
          ),
        (v) => v === 't',
        600_000,
      );
  }
  await waitFor('both script subscriptions streaming', streaming, (v) => v, 120_000);
}

/**
 * Takes the script's state away again: subscriptions, publications and slots dropped, postgresql.conf and
 * pg_hba.conf put back, the 5432 rules deleted, the fixture dropped on both, b's schema public owned as
 * PostgreSQL makes it, PostgreSQL restarted: later lab files start from the provisioned nodes.
 */
export async function removeScriptPair(): Promise<void> {
  // A plain drop also drops the subscription's slot on the other node, which is up.
  for (const node of ['a', 'b'] as const)
    await nodeSql(node, `drop subscription if exists ${SCRIPT_NAMES.subscription[node]}`);
  for (const node of ['a', 'b'] as const) {
    // With wal_level back to replica, a logical slot left behind would keep PostgreSQL from starting.
    await waitFor(
      `no script slot left on ${node}`,
      () =>
        nodeSql(
          node,
          `select count(pg_drop_replication_slot(slot_name)) from pg_replication_slots
             where not active and (slot_name like 'fspbx_%' or slot_name ~ '^pg_[0-9]+_sync_');
           select count(*) from pg_replication_slots where slot_name like 'fspbx_%' or slot_name ~ '^pg_[0-9]+_sync_'`,
        ),
      (v) => v.split('\n').at(-1) === '0',
      60_000,
    );
    await nodeSql(node, `drop publication if exists ${SCRIPT_NAMES.publication[node]}`);
    const rule = firewallRule(ip(other(node)));
    await bash(
      node,
      `while iptables -C ${rule} 2>/dev/null; do iptables -D ${rule}; done
if [ -e ${SAVED}/postgresql.conf ]; then
  cp -p ${SAVED}/postgresql.conf ${SAVED}/pg_hba.conf ${CONF}/ && rm -rf ${SAVED}
fi`,
    );
    await dropFixture(node);
    await nodeSql(
      node,
      `alter schema public owner to pg_database_owner; grant usage on schema public to public;
       comment on schema public is 'standard public schema'; create extension if not exists "uuid-ossp"`,
    );
    await restart(node);
  }
}
