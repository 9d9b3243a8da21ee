import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeExec } from '../lab/exec.js';
import { pairLabNodes } from '../lab/pair.js';
import { say } from '../lab/sh.js';
import { dropFixture, FIXTURE_TEXT, loadFixture } from './fixture.js';
import type { FaultCase } from './plan.js';
import { faultSummaryTable, resultTable, writeResults } from './report.js';
import { pairState, restorePair, type NodeState } from './restore.js';
import { runCase, type CaseResult } from './run-case.js';

/** One line per finished case, so an hour-long run shows where it is and what failed so far. */
export function progressLine(n: number, of: number, r: CaseResult): string {
  const outcome = r.recovered ? `recovered in ${r.secondsToRecover} s` : 'NOT recovered';
  const problems = r.problems.length > 0 ? `; problems: ${r.problems.join('; ')}` : '';
  return `fault case ${n}/${of}: ${r.fault} at ${r.step}: CLI ${r.cli} after ${r.cliSeconds} s, ${outcome}, ${r.rowsLost} rows lost${problems}`;
}

/**
 * Declares the fault-injection cases as tests on a paired lab with the fixture loaded; after the
 * last one it prints the step × fault table (and writes it to `resultsFile` when given), then
 * leaves both nodes as it found them.
 */
export function faultSuite(title: string, cases: readonly FaultCase[], resultsFile?: string): void {
  let before: Record<'a' | 'b', NodeState>;
  const results: CaseResult[] = [];

  beforeAll(async () => {
    await pairLabNodes();
    await loadFixture();
    const left = await restorePair();
    if (left.length > 0) throw new Error(`the pair could not be put back before the suite: ${left.join('; ')}`);
    before = await pairState();
  }, 900_000);

  afterAll(async () => {
    if (results.length > 0) {
      process.stdout.write(`\n${title}\n${resultTable(results)}\n\n${faultSummaryTable(results)}\n`);
      if (resultsFile) writeResults(resultsFile, results, FIXTURE_TEXT);
    }
    await restorePair();
    for (const node of ['a', 'b'] as const) await dropFixture(node);
    await nodeExec('a', ['pgduplex', 'unpair'], { reject: false });
  }, 900_000);

  describe(title, () => {
    for (const [i, c] of cases.entries()) {
      it(
        `${c.fault.name} at ${c.boundary.name}: the CLI stops with the step named, a re-run recovers, nothing is lost`,
        async () => {
          const r = await runCase(c, before);
          results.push(r);
          say(progressLine(i + 1, cases.length, r));
          expect(r.problems, JSON.stringify(r, null, 2)).toEqual([]);
          expect(r.recovered).toBe(true);
          expect(r.rowsLost).toBe(0);
        },
        20 * 60_000,
      );
    }
  });
}
