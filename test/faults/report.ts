import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CaseResult } from './run-case.js';

/** The step × fault table the suite prints: recovered or not, and how long it took. */
export function resultTable(results: readonly CaseResult[]): string {
  const rows = results.map((r) => [
    r.step,
    r.fault,
    r.cli,
    `${r.cliSeconds}`,
    r.recovered ? 'yes' : 'NO',
    `${r.secondsToRecover}`,
    `${r.rowsLost}`,
  ]);
  const head = ['step', 'fault', 'CLI', 'CLI ended after s', 'recovered', 's to recover', 'rows lost'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** One line per fault over all its cases: injected, recovered, slowest CLI end and recovery, rows lost (for the README). */
export function faultSummaryTable(results: readonly CaseResult[]): string {
  const faults = [...new Set(results.map((r) => r.fault))];
  const rows = faults.map((fault) => {
    const rs = results.filter((r) => r.fault === fault);
    const max = (xs: number[]) => `${Math.max(0, ...xs)}`;
    return [
      fault,
      `${rs.length}`,
      `${rs.filter((r) => r.recovered).length}`,
      max(rs.map((r) => r.cliSeconds)),
      max(rs.map((r) => r.secondsToRecover)),
      `${rs.reduce((n, r) => n + r.rowsLost, 0)}`,
    ];
  });
  const head = ['fault', 'injected', 'recovered', 'CLI ended within s', 'recovered within s', 'rows lost'];
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** Writes the per-case results with totals, for bench/results/faults.json. */
export function writeResults(file: string, results: readonly CaseResult[], fixture: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const summary = {
    faultsInjected: results.length,
    recovered: results.filter((r) => r.recovered).length,
    rowsLost: results.reduce((n, r) => n + r.rowsLost, 0),
    cliHangs: results.filter((r) => r.cli === 'HANG').length,
    maxCliSeconds: Math.max(0, ...results.map((r) => r.cliSeconds)),
    maxSecondsToRecover: Math.max(0, ...results.map((r) => r.secondsToRecover)),
  };
  writeFileSync(
    file,
    `${JSON.stringify({ measuredAt: new Date().toISOString(), where: 'two-node lab (PostgreSQL 17, Debian 13), setup run on a', fixture, summary, cases: results }, null, 2)}\n`,
  );
}
