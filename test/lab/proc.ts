// /proc inspection: find lab nspawn processes and their container init without any state file.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { PATHS, type NodeName } from './constants.js';

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Why: a zombie still has a /proc entry, so "exists" is not "alive". */
export function isAlive(pid: number): boolean {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== '';
}

/** Why: the container's systemd is a direct child of systemd-nspawn. */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const t of tasks) {
    const text = readText(`/proc/${pid}/task/${t}/children`) ?? '';
    for (const w of text.trim().split(/\s+/)) if (w) out.push(Number(w));
  }
  return out;
}

/** Why: distinguishes the container's PID-1 systemd from nspawn's short-lived helper children. */
export function isContainerInit(pid: number): boolean {
  const status = readText(`/proc/${pid}/status`);
  if (status === null || !isAlive(pid)) return false;
  const nspid = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
  const comm = (readText(`/proc/${pid}/comm`) ?? '').trim();
  return nspid.length >= 2 && nspid[nspid.length - 1] === '1' && comm === 'systemd';
}

/** Why: nodeExec must enter the right process; this finds it from the nspawn pid. */
export function containerInitOf(nspawnPid: number): number | null {
  for (const c of childrenOf(nspawnPid)) if (isContainerInit(c)) return c;
  return null;
}

/** Why: verifies a pid from the state file still is that node's container init. */
export function parentOf(pid: number): number | null {
  const status = readText(`/proc/${pid}/status`);
  const m = status === null ? undefined : /^PPid:\s+(\d+)$/m.exec(status)?.[1];
  return m === undefined ? null : Number(m);
}

/** A systemd-nspawn process booting a lab node. */
export interface LabNspawn {
  pid: number;
  node: NodeName;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Matches the -D root of this lab's nodes only (each lab id has its own nodesDir). */
const NODE_ROOT = new RegExp(`^${escapeRe(PATHS.nodesDir)}/([ab])/merged/?$`);

/**
 * Why: leftover cleanup must work even when the state file is gone or stale. Only this lab's
 * nspawns (by their exact -D path): other labs' (other PGDX_LAB_ID) are never reported.
 */
export function findLabNspawns(): LabNspawn[] {
  const out: LabNspawn[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const cmdline = readText(`/proc/${pid}/cmdline`);
    if (!cmdline || !isAlive(pid)) continue;
    const argv = cmdline.split('\0');
    if (!(argv[0] ?? '').endsWith('systemd-nspawn')) continue;
    const dIndex = argv.indexOf('-D');
    const root = dIndex >= 0 ? argv[dIndex + 1] : undefined;
    const m = root === undefined ? null : NODE_ROOT.exec(root);
    if (m?.[1] === 'a' || m?.[1] === 'b') out.push({ pid, node: m[1] });
  }
  return out;
}

/** Why: polls until a process is gone (or a zombie), used when stopping nodes. */
export async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return !isAlive(pid);
}

/** Why: signals may race with exit; a vanished process is not an error here. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function link(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** Why: an orphaned debootstrap (or its chrooted dpkg) must be stopped before its dir is deleted. */
export function pidsUsing(dir: string): number[] {
  const out: number[] = [];
  const inside = (p: string): boolean => p === dir || p.startsWith(`${dir}/`);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = (readText(`/proc/${entry}/cmdline`) ?? '').split('\0');
    if (cmd.some(inside) || inside(link(`/proc/${entry}/root`)) || inside(link(`/proc/${entry}/cwd`)))
      out.push(Number(entry));
  }
  return out;
}
