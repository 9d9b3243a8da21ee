import type { ConflictCheck, ConflictFinding } from './conflicts.js';
import type { DirectionStatus, StatusReport, Verdict } from './verdict.js';

const RANK: Record<Verdict, number> = { healthy: 0, degraded: 1, broken: 2 };
const worse = (a: Verdict, b: Verdict): Verdict => (RANK[b] > RANK[a] ? b : a);

/** `public.v_domains` as verify --table takes it (public tables by their bare name). */
const tableArg = (table: string) => (table.startsWith('public.') ? table.slice('public.'.length) : table);

const UNKNOWN_TIME = 'at an unknown time (no commit timestamp)';

/** One finding in words: the table, the key, and each node's row with its commit time. */
export function findingText(x: ConflictFinding): string {
  const rows = x.rows
    .map((r) =>
      !r.present
        ? `${r.node} has no such row`
        : `${r.node}'s row committed ${r.committedAt === null ? UNKNOWN_TIME : `at ${r.committedAt}`}`,
    )
    .join(', ');
  return (
    `diverging: ${x.table} key ${x.key} differs between the nodes after a conflict (${x.types.join(', ')}) on ` +
    `${x.to}, with the lag drained; ${rows}`
  );
}

/**
 * Makes each direction whose subscriber logged a conflict on a row that differs "diverging": degraded (rows that
 * differ do not heal themselves), with the finding and the repair command for each node's version.
 */
export function applyConflicts(report: StatusReport, check: ConflictCheck): StatusReport {
  if (check.diverging.length === 0) return report;
  const directions = report.directions.map((d): DirectionStatus => {
    const mine = check.diverging.filter((x) => x.from === d.from && x.to === d.to);
    if (mine.length === 0) return d;
    const tables = [...new Set(mine.map((x) => tableArg(x.table)))];
    return {
      ...d,
      diverging: true,
      verdict: worse(d.verdict, 'degraded'),
      problems: [...d.problems, ...mine.map((x) => ({ verdict: 'degraded' as const, text: findingText(x) }))],
      remedies: [
        ...d.remedies,
        ...tables.flatMap((t) =>
          [d.from, d.to].map((keep) => ({
            node: d.to,
            command: `pgduplex verify --table ${t} --repair --keep ${keep}`,
            effect: `both nodes take ${keep}'s version of the rows of ${t} that differ (the other's backed up first)`,
          })),
        ),
      ],
    };
  });
  return { ...report, directions, verdict: directions.reduce((v, d) => worse(v, d.verdict), report.verdict) };
}

/** The lines status prints under the directions: notes (e.g. no counters on 16/17) and how many rows were equal. */
export function conflictLines(check: ConflictCheck): string[] {
  return [
    ...check.notes,
    ...(check.equal > 0
      ? [`conflicts: ${check.equal} row(s) a conflict named are equal on both nodes (the baseline advanced)`]
      : []),
  ];
}
