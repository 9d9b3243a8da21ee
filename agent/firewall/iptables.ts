import { execa } from 'execa';
import { PgduplexError } from '../../shared/errors.js';
import { saveArgv, type Argv, type Family } from './rules.js';

/** The programs the firewall layer runs; names are looked up on a fixed PATH, tests may point elsewhere. */
export interface FirewallBins {
  iptables: string;
  ip6tables: string;
  iptablesSave: string;
  ip6tablesSave: string;
  netfilterPersistent: string;
}

/** Debian's names (package iptables; netfilter-persistent from iptables-persistent). */
export const DEFAULT_BINS: FirewallBins = {
  iptables: 'iptables',
  ip6tables: 'ip6tables',
  iptablesSave: 'iptables-save',
  ip6tablesSave: 'ip6tables-save',
  netfilterPersistent: 'netfilter-persistent',
};

/** Limits come from the agent's config; bins only from tests. */
export interface FirewallOptions {
  timeoutMs: number;
  bins?: Partial<FirewallBins>;
}

interface Run {
  exitCode?: number | undefined;
  code?: string | undefined;
  timedOut: boolean;
  failed: boolean;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: Argv, opts: FirewallOptions): Promise<Run> {
  return execa(file, args, {
    stdin: 'ignore',
    cwd: '/',
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    extendEnv: false,
    timeout: opts.timeoutMs,
    reject: false,
    stripFinalNewline: false,
  });
}

function bin(family: Family, kind: 'cmd' | 'save', opts: FirewallOptions): string {
  const bins = { ...DEFAULT_BINS, ...opts.bins };
  if (kind === 'cmd') return family === 4 ? bins.iptables : bins.ip6tables;
  return family === 4 ? bins.iptablesSave : bins.ip6tablesSave;
}

/** Runs iptables/ip6tables with a rule-builder argv; any failure becomes a typed error with stderr. */
export async function iptables(family: Family, args: Argv, opts: FirewallOptions): Promise<void> {
  const file = bin(family, 'cmd', opts);
  const r = await run(file, args, opts);
  if (r.failed) throw toolError(file, args, r, opts.timeoutMs);
}

const ABSENT = /does a matching rule exist|No chain\/target\/match by that name|Chain '[^']*' does not exist/;

/** `-C` answers in its exit code, but so do real failures: only iptables' "no such rule" words mean absent. */
export async function ruleExists(family: Family, checkArgs: Argv, opts: FirewallOptions): Promise<boolean> {
  const file = bin(family, 'cmd', opts);
  const r = await run(file, checkArgs, opts);
  if (!r.failed) return true;
  if ((r.exitCode === 1 || r.exitCode === 2) && ABSENT.test(r.stderr)) return false;
  throw toolError(file, checkArgs, r, opts.timeoutMs);
}

/** The filter table as iptables-save prints it: the source of truth for positions and listings. */
export async function saveFilter(family: Family, opts: FirewallOptions): Promise<string> {
  const file = bin(family, 'save', opts);
  const args = saveArgv();
  const r = await run(file, args, opts);
  if (r.failed) throw toolError(file, args, r, opts.timeoutMs);
  return r.stdout;
}

/** Runs `netfilter-persistent save`; false means the program is not installed (not an error). */
export async function netfilterPersistentSave(opts: FirewallOptions): Promise<boolean> {
  const file = { ...DEFAULT_BINS, ...opts.bins }.netfilterPersistent;
  const args = ['save'];
  const r = await run(file, args, opts);
  if (r.code === 'ENOENT') return false;
  if (r.failed) throw toolError(file, args, r, opts.timeoutMs, 'persist');
  return true;
}

const DENIED = /Permission denied|Operation not permitted|you must be root/i;

function toolError(
  file: string,
  args: Argv,
  r: Run,
  timeoutMs: number,
  kind: 'rules' | 'persist' = 'rules',
): PgduplexError {
  const tool = file.slice(file.lastIndexOf('/') + 1);
  const command = [tool, ...args].join(' ');
  if (r.code === 'ENOENT') {
    return new PgduplexError('TOOL_MISSING', `${tool} is not installed`, {
      hint: kind === 'persist' ? 'apt install iptables-persistent' : 'apt install iptables',
    });
  }
  if (r.timedOut) {
    return new PgduplexError('TIMEOUT', `${command} did not finish within ${timeoutMs} ms`, {
      hint: 'another program may be holding the xtables lock (a firewall script or a second iptables run)',
    });
  }
  const reason = firstLine(r.stderr);
  if (r.code === 'EACCES' || DENIED.test(r.stderr)) {
    return new PgduplexError('FIREWALL_DENIED', `${command} was refused: ${reason}`, {
      hint: 'the agent must run as root with CAP_NET_ADMIN (and CAP_NET_RAW for iptables-legacy)',
    });
  }
  const status = r.exitCode === undefined ? 'was killed' : `failed (exit ${r.exitCode})`;
  const hint =
    kind === 'persist'
      ? 'run "netfilter-persistent save" by hand to see why; /etc/iptables must be writable'
      : `look at the current rules with "${tool.startsWith('ip6') ? 'ip6tables' : 'iptables'}-save -t filter"`;
  return new PgduplexError('FIREWALL_FAILED', `${command} ${status}: ${reason}`, { hint });
}

function firstLine(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.trim() !== '') ?? 'no error text';
  return line
    .replace(/^\S+ v[\d.]+ \([^)]*\):\s*/, '')
    .replace(/^ip6?tables:\s*/, '')
    .trim();
}
