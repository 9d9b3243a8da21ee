import { agentOk } from '../lab/agent-rpc.js';
import type { NodeName } from '../lab/constants.js';
import { buildFixture, dropFixture as emptyPublic, loadFspbxSchema } from '../lab/fixture/build.js';
import { nodeSql } from '../lab/sql.js';

/** One table's row count and content checksum, as the `tables.checksum` action reports it. */
export type Checksum = { table: string; rows: number; sum: string };

/** a's data: the real FS PBX schema with about 100 MB, most in v_xml_cdr; the copy takes long enough to fault in its middle. */
const SOURCE_SIZE = '100MB';

// b is an FS PBX node of its own (the real schema) with 20,003 rows a does not have: three tenants and its
// own activity log, so setup must back it up before replacing it. Fixed values: the same checksums after every reset.
const PEER_ROWS_SQL = `set role fusionpbx;
insert into v_domains (domain_uuid, domain_name, domain_enabled) select md5('b' || g)::uuid, 'only-on-b-' || g || '.example', true from generate_series(1, 3) g;
insert into activity_log (id, log_name, description, properties, created_at)
  select md5('b-activity' || g)::uuid, 'default', 'created on b', json_build_object('n', g, 'pad', repeat(md5(g::text), 3)), timestamp '2025-02-01' + g * interval '1 minute'
  from generate_series(1, 20000) g;
analyze;`;

/** What the fault suite's fixture is, for its results file. */
export const FIXTURE_TEXT = `the real FS PBX schema on both nodes; a: ${SOURCE_SIZE} of tenants and call records; b: 20,003 rows of its own`;

/** Empties schema public on a node (uuid-ossp stays). */
export const dropFixture = (node: NodeName): Promise<void> => emptyPublic(node);

/** The source data on a and b's pre-existing rows, both on the real FS PBX schema. */
export async function loadFixture(): Promise<void> {
  await buildFixture('a', SOURCE_SIZE, { noKeyTable: false });
  await resetPeer();
}

/** Replaces whatever b holds with its pre-existing rows again (a keeps its data between cases). */
export async function resetPeer(): Promise<void> {
  await loadFspbxSchema('b');
  await nodeSql('b', PEER_ROWS_SQL);
}

/** Row counts and checksums of every table in public on a node. */
export const checksums = (node: NodeName): Promise<Checksum[]> =>
  agentOk<Checksum[]>(node, 'tables.checksum', { database: 'fusionpbx' });
