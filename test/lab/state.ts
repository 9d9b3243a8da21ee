// The lab state file: which processes are the nodes, and this run's database secret (mode 0600).
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { LabFlavor } from './base-flavor.js';
import { PATHS, type NodeName } from './constants.js';

/** One booted node as recorded in the state file. */
export interface NodeState {
  name: NodeName;
  /** Host pid of systemd-nspawn. */
  nspawnPid: number;
  /** Host pid of the container's systemd (PID 1 inside); nsenter target. */
  pid: number;
  /** Overlay mount used as the node's root filesystem. */
  root: string;
  netns: string;
  ipv4: string;
  ipv6: string;
  /** PostgreSQL major of the node's cluster `main` (absent in state files of older labs: 17). */
  pg?: number;
  /** Base flavor the node booted from (absent in older state files: its `pg`); '17+' runs 17. */
  flavor?: LabFlavor;
}

/** Why: everything a test or the CLI needs to find and use a running lab. */
export interface LabState {
  version: 1;
  startedAt: string;
  /** Base rootfs of node a (each node's own is in its overlay's lowerdir). */
  base: string;
  /** Password of the fusionpbx database role, random per lab run. */
  secret: string;
  nodes: Partial<Record<NodeName, NodeState>>;
  /** Path of the .deb installed on both nodes, if any. */
  deb: string | null;
}

/** Why: nodeExec and labSecret read this; null means no lab (or a partial one) is recorded. */
export function readState(): LabState | null {
  try {
    const parsed = JSON.parse(readFileSync(PATHS.stateFile, 'utf8')) as LabState;
    return parsed.version === 1 ? parsed : null;
  } catch {
    return null;
  }
}

/** Why: atomic write (tmp + rename) with 0600, since the file holds a password. */
export function writeState(state: LabState): void {
  mkdirSync(PATHS.labDir, { recursive: true, mode: 0o700 });
  chmodSync(PATHS.stateDir, 0o700);
  chmodSync(PATHS.labDir, 0o700);
  const tmp = `${PATHS.stateFile}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, PATHS.stateFile);
}

/** Why: labDown forgets the run (and its secret) once everything is torn down. */
export function clearState(): void {
  rmSync(PATHS.stateFile, { force: true });
}

/**
 * Why: tests on a lab of mixed majors name each node's cluster (/etc/postgresql/<pg>/main, postgresql@<pg>-main).
 * The major the node was provisioned with (a '17+' node: 17), not whatever installPgMajor added since.
 */
export function labPgVersion(node: NodeName): number {
  return readState()?.nodes[node]?.pg ?? 17;
}

/** Why: which base a node booted from (installPgMajor needs a flavor with cached .debs); older state files: its major. */
export function labFlavor(node: NodeName): LabFlavor {
  const n = readState()?.nodes[node];
  return n?.flavor ?? ((n?.pg ?? 17) as LabFlavor);
}
