import { agentOk } from '../lab/agent-rpc.js';
import type { NodeName } from '../lab/constants.js';
import { nodeSql } from '../lab/sql.js';

/** One table's row count and content checksum, as the `table-checksums` action reports it. */
export type Checksum = { table: string; rows: number; sum: string };

/** Every table the fixture creates on either node; dropping these restores a node's database. */
export const FIXTURE_TABLES = ['fx_cdr', 'fx_jobs', 'fx_users', 'fx_domains', 'fx_b_notes'] as const;

// a holds the source data: uuid and bigserial keys, an FK, jsonb, and one big CDR table (~60 MB).
const SOURCE_SQL = (cdrRows: number) => `create table fx_domains (domain_uuid uuid primary key default gen_random_uuid(), domain_name text not null unique);
create table fx_users (id bigserial primary key, domain_uuid uuid references fx_domains, email text not null unique);
create table fx_jobs (id bigserial primary key, queue text not null, payload jsonb);
create table fx_cdr (xml_cdr_uuid uuid primary key default gen_random_uuid(), domain_uuid uuid references fx_domains, caller text, json jsonb, start_stamp timestamptz not null);
insert into fx_domains (domain_name) select 'tenant' || g || '.example' from generate_series(1, 40) g;
insert into fx_users (domain_uuid, email) select d.domain_uuid, 'u' || g || '@' || d.domain_name from fx_domains d, generate_series(1, 25) g;
insert into fx_jobs (queue, payload) select 'default', jsonb_build_object('n', g) from generate_series(1, 20000) g;
insert into fx_cdr (domain_uuid, caller, json, start_stamp)
  select (select domain_uuid from fx_domains order by domain_name offset (g % 40) limit 1), '1' || lpad((g % 9999)::text, 4, '0'),
         jsonb_build_object('n', g, 'pad', repeat(md5(g::text), 8)), timestamptz '2026-01-01' + g * interval '1 second'
  from generate_series(1, ${cdrRows}) g;
analyze;`;

// b is not empty: a table of its own and a same-named table with different rows, so setup must back it up;
// its values are fixed, so its checksums are the same after every reset.
const PEER_SQL = `create table fx_domains (domain_uuid uuid primary key default gen_random_uuid(), domain_name text not null unique);
create table fx_b_notes (id int primary key, note text not null);
insert into fx_domains select md5('b' || g)::uuid, 'only-on-b-' || g || '.example' from generate_series(1, 3) g;
insert into fx_b_notes select g, repeat(md5(g::text), 3) from generate_series(1, 20000) g;
analyze;`;

/** Drops every fixture table on a node. */
export const dropFixture = (node: NodeName): Promise<string> => nodeSql(node, `drop table if exists ${FIXTURE_TABLES.join(', ')} cascade;`);

/** Creates the source data on a (cdrRows ≈ 150,000 makes about 60 MB) and b's pre-existing rows. */
export async function loadFixture(opts: { cdrRows: number }): Promise<void> {
  await Promise.all([dropFixture('a'), dropFixture('b')]);
  await nodeSql('a', SOURCE_SQL(opts.cdrRows));
  await nodeSql('b', PEER_SQL);
}

/** Replaces whatever b holds with its pre-existing rows again (a keeps its data between cases). */
export async function resetPeer(): Promise<void> {
  await dropFixture('b');
  await nodeSql('b', PEER_SQL);
}

/** Row counts and checksums of every table in public on a node. */
export const checksums = (node: NodeName): Promise<Checksum[]> => agentOk<Checksum[]>(node, 'table-checksums', { database: 'fusionpbx' });
