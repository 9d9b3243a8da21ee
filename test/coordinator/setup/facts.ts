import type { Bootstrap } from '../../../coordinator/setup/bootstrap.js';
import type { SetupFacts } from '../../../coordinator/setup/plan.js';
import type { Hazards, Preflight } from '../../../coordinator/setup/preflight.js';
import type { PairFacts } from '../../../coordinator/setup/steps.js';

// Facts as gather reads them, for tests of the plan and its run that involve no real agent.
export const pair: PairFacts = {
  database: 'fusionpbx',
  source: { side: 'local', node: 'a', address: '10.0.0.1' },
  target: { side: 'peer', node: 'b', address: '10.0.0.2' },
  pgPort: 5432,
};
export const hazards = (over: Partial<Hazards> = {}): Hazards => ({
  noReplicaIdentity: [],
  fullIdentity: [],
  sequenceKeys: [],
  unlogged: [],
  largeObjects: 0,
  databaseBytes: 2 ** 30,
  typesWithoutBinary: [],
  tableBytes: 2 ** 29,
  tables: ['public.a', 'public.log'],
  extensions: [{ name: 'uuid-ossp', schema: 'public', version: '1.1' }],
  ...over,
});
export const pg = (versionNum = 170006, listen = 'localhost') => ({
  ready: true,
  serverVersionNum: versionNum,
  settings: { listen_addresses: { value: listen, base: listen } },
});
export const pre = (over: Partial<Preflight> = {}, b = pg()): Preflight => {
  const base = { pg: { local: pg(), peer: b }, hazards: hazards(), tables: { all: true }, keyless: [] };
  return { ...base, ...over } as unknown as Preflight;
};
export const facts = (boot: Bootstrap, over: Partial<SetupFacts> = {}): SetupFacts => ({
  pair,
  pre: pre(),
  boot,
  credentialsInPlace: false,
  ...over,
});
