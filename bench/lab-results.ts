// Writing a lab bench's results: one JSON file under bench/results, stamped with when and on what it was measured.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Writes `body` to bench/results/<name>.json with the time and machine, so each lab bench reads alike. */
export function saveLabResults(name: string, how: string, body: Record<string, unknown>): void {
  const out = {
    measuredAt: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      note: 'one host, both lab nodes share its cores (and other labs may run beside them)',
    },
    how,
    ...body,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${name}.json`, `${JSON.stringify(out, null, 2)}\n`);
}
