import { agentOk } from '../lab/agent-rpc.js';
import { nodeExec } from '../lab/exec.js';
import type { Checksum } from './fixture.js';
import type { FaultCase } from './plan.js';
import { pairState, restorePair, type NodeState } from './restore.js';
import { SetupRun, type RunEnd } from './setup-run.js';

/** The setup every case runs, on a: b holds rows, so it is backed up and replaced. */
export const SETUP_ARGS = ['--yes', '--replace-peer-data'] as const;
/** The CLI must end on its own within this long after a fault; longer is a hang. */
export const CLI_BOUND_MS = 5 * 60_000;
const SCRATCH = 'pgduplex_restore_faults';

/** What one case showed: how the CLI took the fault, whether a re-run recovered, and what was lost. */
export interface CaseResult {
  step: string;
  fault: string;
  /** What the CLI printed after the boundary line, i.e. how far it got once the fault landed. */
  printedAfter: string;
  /** 'exit N', 'killed' or 'HANG'. */
  cli: string;
  /** Seconds from the fault to the CLI's end. */
  cliSeconds: number;
  /** The CLI's error, first two lines of stderr. */
  message: string;
  recovered: boolean;
  /** Seconds the suite waited, once the fault was taken away, until both agents answered each other. */
  healSeconds: number;
  /** Seconds from the fault to the end of the re-run that verified the pair. */
  secondsToRecover: number;
  /** Source rows missing or changed on a, plus b's rows missing from its backup. */
  rowsLost: number;
  problems: string[];
}

const seconds = (from: number) => Math.round((Date.now() - from) / 100) / 10;
const sum = (xs: Checksum[]) => xs.reduce((n, t) => n + t.rows, 0);
const lost = (want: Checksum[], got: Checksum[]) =>
  want.reduce((n, t) => {
    const g = got.find((x) => x.table === t.table);
    return n + (!g ? t.rows : g.sum === t.sum && g.rows === t.rows ? 0 : Math.max(t.rows - g.rows, 1));
  }, 0);

/** The lines the CLI printed after the boundary's line (its last two for a fault put in place before it started). */
function printedAfter(stdout: string, after: string | null): string {
  const lines = stdout.trim().split('\n');
  const rest = after === null ? lines.slice(-2) : lines.slice(lines.findIndex((l) => new RegExp(after).test(l)) + 1);
  return rest.join(' / ').slice(0, 400);
}

/** How the CLI's failure reads: one line naming the step, a hint, never a stack trace. */
export function messageProblems(end: RunEnd): string[] {
  if (end.exitCode === null || end.exitCode === 0) return [];
  const p: string[] = [];
  if (!/^pgduplex: setup stopped at .+/m.test(end.stderr)) p.push('the error does not name the step setup stopped at');
  if (!/^ {2}\S.*(re-run|retry)/m.test(end.stderr)) p.push('the hint does not say to re-run setup');
  if (/\n\s+at /.test(end.stderr)) p.push('stack trace on stderr');
  return p;
}

/**
 * b's first backup of the case (restorePair removes them between cases), restored into a scratch
 * database, must hold exactly b's rows from before setup; later ones (a re-copy's) hold a's data.
 */
async function backupLoss(peerBefore: Checksum[]): Promise<number> {
  // Complete backups only: one cut short lives in a hidden .partial- directory until the next backup removes it.
  const ids = (
    await nodeExec('b', ['bash', '-c', 'ls -1 /var/backups/pgduplex | grep -E -- "^[0-9].*-fusionpbx$" | sort'])
  ).stdout
    .trim()
    .split('\n')
    .filter(Boolean);
  const id = ids[0];
  if (!id) return sum(peerBefore);
  const r = await agentOk<{ journalId: string }>('b', 'backup-restore.apply', { id, into: SCRATCH });
  try {
    return lost(peerBefore, await agentOk<Checksum[]>('b', 'tables.checksum', { database: SCRATCH }));
  } finally {
    await agentOk('b', 'journal.undo', { id: r.journalId });
  }
}

/**
 * Runs setup on a, injects the fault at the boundary, lets the CLI end, heals, re-runs setup and
 * checks the pair, the source rows and b's backup; then puts both nodes back and checks that too.
 */
export async function runCase(c: FaultCase, before: Record<'a' | 'b', NodeState>): Promise<CaseResult> {
  const problems: string[] = [];
  if (c.boundary.after === null) await c.fault.inject(undefined);
  const run = await SetupRun.start('a', SETUP_ARGS);
  let end: RunEnd | undefined;
  let injected = Date.now();
  let ended = Date.now();
  try {
    if (c.boundary.after !== null) {
      const hit = await run.waitForLine(c.boundary.after, 10 * 60_000);
      injected = Date.now();
      if (hit) await c.fault.inject(run);
      else problems.push('the CLI ended before the boundary');
    }
    end = await run.end(CLI_BOUND_MS);
    ended = Date.now();
    if (!end) problems.push(`HANG: the CLI was still running ${CLI_BOUND_MS / 1000} s after the fault`);
  } finally {
    if (!end) await run.kill().catch(() => undefined);
    await run.remove();
  }
  const cliSeconds = Math.round((ended - injected) / 100) / 10;
  if (c.fault.holdMs && Date.now() - injected < c.fault.holdMs)
    await new Promise((r) => setTimeout(r, c.fault.holdMs! - (Date.now() - injected)));
  const healing = Date.now();
  await c.fault.heal();
  const healSeconds = seconds(healing);
  if (end) problems.push(...messageProblems(end));

  const again = await nodeExec('a', ['pgduplex', 'setup', ...SETUP_ARGS], { reject: false, timeoutMs: 8 * 60_000 });
  const secondsToRecover = seconds(injected);
  // Rows compared by the re-run, or by a first run that finished despite the fault (nothing changed since).
  const compared =
    /verify: \d+ tables identical/.test(again.stdout) ||
    (end?.exitCode === 0 && /contents not compared: compared /.test(again.stdout));
  const verified = again.exitCode === 0 && compared;
  if (!verified)
    problems.push(
      `re-run: exit ${again.exitCode}: ${again.stderr.trim().split('\n').slice(0, 2).join(' / ') || again.stdout.trim().split('\n').at(-1)}`,
    );
  if (/\n\s+at /.test(again.stderr)) problems.push('re-run: stack trace on stderr');

  // A check that cannot run proves nothing: its rows count as lost, and the pair is put back all the same.
  const unproven = (what: string, all: number) => (err: unknown) => (
    problems.push(`${what} could not be checked: ${err instanceof Error ? err.message : String(err)}`),
    all
  );
  const sourceLost = await agentOk<Checksum[]>('a', 'tables.checksum', { database: 'fusionpbx' }).then(
    (now) => lost(before.a.tables, now),
    unproven("a's rows", sum(before.a.tables)),
  );
  const peerLost = await backupLoss(before.b.tables).catch(unproven("b's backup", sum(before.b.tables)));
  if (sourceLost > 0) problems.push(`${sourceLost} source rows missing or changed on a`);
  if (peerLost > 0) problems.push(`${peerLost} of b's rows not in its backup`);

  problems.push(...(await restorePair(before)));
  const after = await pairState();
  for (const node of ['a', 'b'] as const) {
    for (const k of Object.keys(before[node]) as Array<keyof NodeState>) {
      const [now, was] = [JSON.stringify(after[node][k]), JSON.stringify(before[node][k])];
      if (now !== was) problems.push(`${node} not restored: ${k} is ${now.slice(0, 300)}, was ${was.slice(0, 300)}`);
    }
  }
  const message = end === undefined ? 'still running' : end.stderr.trim().split('\n').slice(0, 2).join(' / ');
  return {
    step: c.boundary.name,
    fault: c.fault.name,
    printedAfter: end ? printedAfter(end.stdout, c.boundary.after) : '',
    cli: end === undefined ? 'HANG' : end.exitCode === null ? 'killed' : `exit ${end.exitCode}`,
    cliSeconds,
    message,
    recovered: verified && sourceLost === 0 && peerLost === 0,
    healSeconds,
    secondsToRecover,
    rowsLost: sourceLost + peerLost,
    problems,
  };
}
