// Install a .deb from the host into a running node with dpkg -i.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { nodePaths, type NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { LabError, say } from './sh.js';

/** Why: /tmp inside a node is a tmpfs the host cannot see; /var/tmp lives in the overlay. */
const INBOX = 'var/tmp/pgduplex-lab';

/** Why: end-to-end tests install the real package the way an operator would. Returns dpkg's output. */
export async function installDeb(node: NodeName, hostPathToDeb: string): Promise<string> {
  if (!existsSync(hostPathToDeb)) throw new LabError(`no such .deb: ${hostPathToDeb}`);
  const name = basename(hostPathToDeb);
  const hostDir = `${nodePaths(node).merged}/${INBOX}`;
  mkdirSync(hostDir, { recursive: true, mode: 0o755 });
  copyFileSync(hostPathToDeb, `${hostDir}/${name}`);
  say(`node ${node}: dpkg -i ${name}`);
  try {
    const r = await nodeExec(node, ['dpkg', '-i', `/${INBOX}/${name}`], {
      reject: false,
      timeoutMs: 300_000,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
    const out = `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`.trim();
    if (r.exitCode !== 0) throw new LabError(`node ${node}: dpkg -i ${name} failed (exit ${r.exitCode}):\n${out}`);
    return out;
  } finally {
    rmSync(`${hostDir}/${name}`, { force: true });
  }
}
