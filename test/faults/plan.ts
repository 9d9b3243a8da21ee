import { BOUNDARY_FAULTS, DISK_FULL, PG_CRASH, type Fault } from './faults.js';

/** A point in setup's plan, recognised by the task line printed when the step before it finished. */
export interface Boundary {
  /** The step just done, then the one about to start. */
  name: string;
  /** Extended regex over the CLI's stdout; null: before the CLI starts. */
  after: string | null;
}

/** One run of the suite: a fault injected at a boundary. */
export interface FaultCase {
  boundary: Boundary;
  fault: Fault;
}

const line = (status: string, node: string, what: string) => `^${status} +${node} +${what}`;

/** setup's plan from a (source) to b (which holds rows), boundary by boundary, in order. */
export const BOUNDARIES: readonly Boundary[] = [
  { name: 'preflight | configure a', after: line('ok', 'b', 'preflight: [0-9]+ MB free') },
  { name: 'configure a | configure b', after: line('changed', 'a', 'pg-hba:') },
  { name: 'configure b | restarts', after: line('changed', 'b', 'pg-hba:') },
  { name: 'restarts | reach', after: line('changed', '[ab]', 'pg-service: restarted') },
  { name: 'reach | credentials', after: line('ok', '[ab]', 'reach:') },
  { name: 'credentials | backup', after: line('changed', 'b', 'pg-passfile:') },
  { name: 'backup | schema-import', after: line('changed', 'b', 'backup:') },
  { name: 'schema-import | sequences a', after: line('changed', 'b', 'schema-import:') },
  { name: 'sequences a | publications', after: line('changed', 'a', 'sequences:') },
  { name: 'publications | subscription b', after: line('changed', 'b', 'publication:') },
  { name: 'subscription b | initial copy', after: line('changed', 'b', 'subscription:') },
  {
    name: 'middle of the initial copy',
    after: line('\\.\\.\\.', 'b', 'initial copy: [0-9]+/[0-9]+ tables ready, [1-9][0-9.]* (B|KiB|MiB|GiB) of '),
  },
  { name: 'initial copy | sequences b', after: line('ok', 'b', 'initial copy:') },
  { name: 'sequences b | subscription a', after: line('changed', 'b', 'sequences:') },
  { name: 'subscription a | verify', after: line('changed', 'a', 'subscription:') },
];

const at = (name: string): Boundary => {
  const b = BOUNDARIES.find((x) => x.name === name);
  if (!b) throw new Error(`no boundary ${name}`);
  return b;
};

/** Every case of `npm run test:faults`: each boundary fault at each boundary, a PostgreSQL crash mid-copy, a full backup disk. */
export const ALL_CASES: readonly FaultCase[] = [
  ...BOUNDARIES.flatMap((boundary) => BOUNDARY_FAULTS.map((fault) => ({ boundary, fault }))),
  { boundary: at('middle of the initial copy'), fault: PG_CRASH },
  { boundary: { name: 'before the backup (full during it)', after: null }, fault: DISK_FULL },
];

const pick = (boundary: string, fault: string): FaultCase => {
  const c = ALL_CASES.find((x) => x.boundary.name === boundary && x.fault.name === fault);
  if (!c) throw new Error(`no case ${fault} at ${boundary}`);
  return c;
};

/** The sample `npm test` runs: one of each kind of fault, at boundaries where they bite differently. */
export const SAMPLE_CASES: readonly FaultCase[] = [
  pick('configure b | restarts', 'kill -9 agent b'),
  pick('schema-import | sequences a', 'kill -9 agent a'),
  pick('middle of the initial copy', 'partition a|b'),
  pick('middle of the initial copy', 'kill -9 postmaster b'),
  pick('before the backup (full during it)', 'full backup disk b'),
];
