// Public entry point of the lab for vitest tests: import from 'test/lab/index.js'.
export { LAB, LAB_ID, NODE_NAMES, PATHS, type NodeName } from './constants.js';
export { labUp, labDown, labStatus, labSecret, type LabUpOptions, type LabStatus } from './lab.js';
export { nodeExec, outsiderExec, nodePid, type ExecOptions } from './exec.js';
export { installDeb } from './deb.js';
export { pingArgv } from './ping.js';
export { LabError, setLabLogger, type RunResult } from './sh.js';
export { labFlavor, labPgVersion, type LabState, type NodeState } from './state.js';
export { LAB_FLAVORS, PG_MAJORS, type LabFlavor, type PgMajor } from './base-flavor.js';
export { installPgMajor } from './pg-major.js';
