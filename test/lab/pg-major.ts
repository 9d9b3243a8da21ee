// Installs a cached newer PostgreSQL major on a '17+' node offline, the way an operator runs apt-get install.
import { flavorOf } from './base-flavor.js';
import type { NodeName } from './constants.js';
import { nodeExec } from './exec.js';
import { LabError, say } from './sh.js';
import { labFlavor } from './state.js';

/**
 * Why: the in-place major upgrade starts where an operator has run `apt-get install postgresql-18`; the lab has no
 * network, so apt installs the .debs the base downloaded (its archive directory pointed at them, --no-download,
 * recommends off as they were when downloaded). postgresql-common's postinst creates no `<major>/main` here, since
 * cluster 17/main exists (it does so only on a host without any cluster): the node keeps its one cluster, as an
 * operator's does. Returns apt's output.
 */
export async function installPgMajor(node: NodeName, major: number): Promise<string> {
  const flavor = flavorOf(labFlavor(node));
  const cached = flavor.cached?.find((c) => c.major === major);
  if (cached === undefined) {
    const has = (flavor.cached ?? []).map((c) => c.major).join(', ') || 'none';
    throw new LabError(`node ${node} (base ${flavor.key}) has no cached PostgreSQL ${major} (cached: ${has}; use 17+)`);
  }
  say(`node ${node}: apt-get install ${cached.packages.join(' ')} from ${cached.dir} (offline)`);
  const argv = [
    'apt-get',
    '-o',
    `Dir::Cache::archives=${cached.dir}/`,
    '-o',
    'APT::Install-Recommends=false',
    'install',
    '--no-download',
    '-y',
    ...cached.packages,
  ];
  const r = await nodeExec(node, argv, {
    reject: false,
    timeoutMs: 600_000,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  const out = `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`.trim();
  if (r.exitCode !== 0) throw new LabError(`node ${node}: ${argv.join(' ')} failed (exit ${r.exitCode}):\n${out}`);
  return out;
}
