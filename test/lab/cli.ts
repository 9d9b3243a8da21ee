// CLI: npm run lab -- up [--deb PATH] [--no-build] | down | status [--json] | shell a|b | exec a|b -- CMD...
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { LabFlavor } from './base-flavor.js';
import type { NodeName } from './constants.js';
import { LabError } from './errors.js';
import { parseLabId } from './labid.js';

// The lab modules compute their names from PGDX_LAB_ID when they load, and a bad id throws there;
// main() checks the id first and loads them afterwards, so a bad id is one clear line, not a stack.
async function loadLab() {
  const [flavor, constants, exec, lab, prereq] = await Promise.all([
    import('./base-flavor.js'),
    import('./constants.js'),
    import('./exec.js'),
    import('./lab.js'),
    import('./prereq.js'),
  ]);
  return { ...flavor, ...constants, ...exec, ...lab, ...prereq };
}
type Lab = Awaited<ReturnType<typeof loadLab>>;

const USAGE = `usage: npm run lab -- <command>
  up [--deb PATH] [--no-build] [--pg a=17,b=18]
                                 build the .deb (npm run package), boot nodes a and b, install it
                                 (--deb: install PATH instead, no build; --no-build: install nothing unless --deb;
                                 --pg: PostgreSQL major per node, 17 (trixie), 18 (sid) or 19 (experimental); 17;
                                 17+: trixie's 17 on sid, 18 and 19 cached; 18+: sid's 18, 19 cached)
  down                           stop everything and remove namespaces, mounts, node directories
  status [--json]                show what is up
  shell a|b                      interactive login shell inside a node
  exec a|b -- CMD [ARG...]       run a command inside a node
  fixture a|b SIZE|drop          the real FS PBX schema with data of about SIZE (250MB, 2.5GB), or drop them`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Why: wrong usage exits 2 with one line plus usage, distinct from runtime errors (exit 1). */
class UsageError extends Error {}

function parseNode(word: string | undefined): NodeName {
  if (word === 'a' || word === 'b') return word;
  throw new UsageError(word === undefined ? 'missing node name (a or b)' : `unknown node "${word}" (expected a or b)`);
}

/** `a=17,b=18` or `a=17+` (either node may be left out: 17) to the per-node flavors labUp takes. */
function parseVersions(L: Lab, word: string | undefined): Partial<Record<NodeName, LabFlavor>> {
  if (word === undefined) throw new UsageError('--pg needs a=MAJOR,b=MAJOR (e.g. a=17,b=18)');
  const out: Partial<Record<NodeName, LabFlavor>> = {};
  for (const part of word.split(',')) {
    const m = /^([ab])=(.*)$/.exec(part);
    const v = m === null ? null : L.parseFlavor(m[2] ?? '');
    if (m === null || v === null)
      throw new UsageError(`--pg: "${part}" is not a=MAJOR or b=MAJOR with MAJOR one of ${L.LAB_FLAVORS.join(', ')}`);
    const node = m[1] as NodeName;
    if (out[node] !== undefined) throw new UsageError(`--pg: node ${node} given twice`);
    out[node] = v;
  }
  return out;
}

function newestDeb(): string | null {
  const dist = `${ROOT}/dist`;
  if (!existsSync(dist)) return null;
  const debs = readdirSync(dist)
    .filter((f) => /^pgduplex_.*_all\.deb$/.test(f))
    .map((f) => `${dist}/${f}`);
  debs.sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
  return debs[0] ?? null;
}

async function buildDeb(): Promise<string> {
  console.error('[lab] building the package: npm run package');
  const r = await execa('npm', ['run', 'package'], { cwd: ROOT, stdio: 'inherit', reject: false });
  const deb = newestDeb();
  if (r.exitCode !== 0) {
    const hint = deb
      ? `an older ${deb} exists; use --deb ${deb} to install it anyway`
      : 'and there is no dist/pgduplex_*_all.deb';
    throw new LabError(
      `npm run package failed (exit ${r.exitCode ?? r.signal}), ${hint}; or use --no-build to start the lab without the package`,
    );
  }
  if (deb === null) throw new LabError('npm run package succeeded but produced no dist/pgduplex_*_all.deb');
  return deb;
}

async function up(L: Lab, args: string[]): Promise<void> {
  const { LAB, NODE_NAMES } = L;
  let deb: string | undefined;
  let build = true;
  let versions: Partial<Record<NodeName, LabFlavor>> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--no-build') build = false;
    else if (a === '--deb') {
      deb = args[++i];
      if (deb === undefined) throw new UsageError('--deb needs a path');
    } else if (a === '--pg') versions = parseVersions(L, args[++i]);
    else throw new UsageError(`unknown option for up: ${a}`);
  }
  L.ensureRoot();
  if (deb !== undefined) deb = resolve(deb);
  else if (build) deb = await buildDeb();
  const t0 = Date.now();
  const state = await L.labUp(deb === undefined ? { versions } : { deb, versions });
  console.log(`lab${L.LAB_ID === null ? '' : ` ${L.LAB_ID}`} up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const n of NODE_NAMES) {
    const s = state.nodes[n];
    const where = `${LAB.nodes[n].ipv4} ${LAB.nodes[n].ipv6}`;
    console.log(
      `  node ${n}: ${where}  PostgreSQL ${s?.pg ?? '?'}${typeof s?.flavor === 'string' ? ` (${s.flavor})` : ''}  systemd pid ${s?.pid ?? '?'}`,
    );
  }
  console.log(`  outsider x: ${LAB.outsider.ipv4} ${LAB.outsider.ipv6}  (ip netns exec ${LAB.outsider.netns} …)`);
  console.log(deb === undefined ? '  no .deb installed' : `  installed ${deb} on a and b`);
}

async function status(L: Lab, args: string[]): Promise<void> {
  if (args.some((a) => a !== '--json')) throw new UsageError(`unknown option for status: ${args.join(' ')}`);
  const s = await L.labStatus();
  if (args.includes('--json')) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  if (s.labId !== null) console.log(`lab id: ${s.labId}`);
  console.log(`namespaces: ${s.namespaces.join(' ') || '(none)'}`);
  for (const n of L.NODE_NAMES) {
    const st = s.nodes[n];
    const what = st.running ? `running (systemd pid ${st.pid}, state ${st.systemState ?? '?'})` : 'not running';
    const pg = st.pg === null ? '' : `PostgreSQL ${st.pg}; `;
    console.log(`node ${n}: ${what}; ${pg}addresses: ${st.addresses.join(' ') || '(none)'}`);
  }
  console.log(`outsider x: addresses: ${s.outsider.addresses.join(' ') || '(none)'}`);
  console.log(`mounts: ${s.mounts.join(' ') || '(none)'}`);
  if (s.deb) console.log(`installed .deb: ${s.deb}`);
}

async function enter(L: Lab, node: NodeName, argv: string[]): Promise<number> {
  L.ensureRoot();
  const [file, ...rest] = [...L.nodeEnterArgv(node), ...argv] as [string, ...string[]];
  const r = await execa(file, rest, { stdio: 'inherit', reject: false, env: L.nodeEnv(), extendEnv: false });
  return r.exitCode ?? 1;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  parseLabId(process.env.PGDX_LAB_ID);
  const L = await loadLab();
  switch (cmd) {
    case 'up':
      await up(L, rest);
      return 0;
    case 'down':
      if (rest.length > 0) throw new UsageError('down takes no arguments');
      await L.labDown();
      return 0;
    case 'status':
      await status(L, rest);
      return 0;
    case 'shell': {
      const node = parseNode(rest[0]);
      if (rest.length > 1) throw new UsageError('shell takes only a node name');
      return enter(L, node, ['bash', '-l']);
    }
    case 'exec': {
      const node = parseNode(rest[0]);
      if (rest[1] !== '--' || rest.length < 3) throw new UsageError('exec needs: exec a|b -- CMD [ARG...]');
      return enter(L, node, rest.slice(2));
    }
    case 'fixture': {
      const node = parseNode(rest[0]);
      if (rest.length !== 2) throw new UsageError('fixture needs: fixture a|b SIZE|drop');
      const f = await import('./fixture/build.js');
      if (rest[1] === 'drop') await f.dropFixture(node);
      else console.log(JSON.stringify(await f.buildFixture(node, rest[1] as string)));
      return 0;
    }
    case undefined:
      throw new UsageError('missing command');
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`lab: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`lab: ${msg}`);
    if (process.env.PGDX_LAB_DEBUG && err instanceof Error) console.error(err.stack);
    process.exit(1);
  },
);
