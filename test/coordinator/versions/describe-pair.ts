// Runs the pair body as vitest tests on a lab booted for the pair's majors, recording each step's outcome.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { labUp } from '../../lab/index.js';
import { debPath } from '../../lab/paths.js';
import { nodeVersions, pairLabel, pairSteps, type NodeVersions, type PairStep, type VersionPair } from './pair-body.js';

/** What one step did. */
export interface StepOutcome {
  step: string;
  outcome: 'passed' | 'failed' | 'skipped';
  seconds: number;
  error?: string;
}

/** What one pair did, as bench/results/versions.json holds it. */
export interface PairResult {
  pair: string;
  a: { major: number } & Partial<NodeVersions>;
  b: { major: number } & Partial<NodeVersions>;
  from: string;
  passed: boolean;
  seconds: number;
  steps: StepOutcome[];
}

/** Options of describePair. */
export interface DescribePairOptions {
  /** Boot the default 17↔17 lab again afterwards, for the lab test files that run after this one. */
  restoreDefaultLab?: boolean;
  /** Called once the pair's steps ran (passed or not). */
  onResult?: (r: PairResult) => void;
}

const STEP_TIMEOUT_MS = 600_000;
const firstLines = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split('\n').slice(0, 12).join('\n');

/** What a described run is: its title, its labels in the results, how its lab boots, and its steps. */
export interface StepRun {
  title: string;
  pair: string;
  majors: { a: number; b: number };
  from: string;
  boot: () => Promise<void>;
  steps: PairStep[];
}

/**
 * Why: the mixed pair in `npm test`, every pair of `npm run test:versions` and every pg-upgrade case run their bodies
 * the same way; a step after a failed one is skipped (each needs the ones before it) and says which step failed first.
 */
export function describeSteps(r: StepRun, opts: DescribePairOptions = {}): void {
  describe(r.title, () => {
    const steps: StepOutcome[] = [];
    let versions: Array<Partial<NodeVersions>> = [{}, {}];
    let firstFailed: string | null = null;
    let t0 = Date.now();

    beforeAll(async () => {
      t0 = Date.now(); // the run's time includes booting its lab
      await r.boot();
      versions = await nodeVersions();
    }, 1_200_000);

    afterAll(async () => {
      const passed = steps.length > 0 && steps.every((s) => s.outcome === 'passed');
      opts.onResult?.({
        pair: r.pair,
        a: { major: r.majors.a, ...versions[0] },
        b: { major: r.majors.b, ...versions[1] },
        from: r.from,
        passed,
        seconds: Math.round((Date.now() - t0) / 1000),
        steps,
      });
      if (opts.restoreDefaultLab) await labUp({ deb: debPath() });
    }, 900_000);

    for (const step of r.steps) {
      it(
        step.name,
        async (ctx) => {
          if (firstFailed !== null) {
            steps.push({ step: step.name, outcome: 'skipped', seconds: 0 });
            ctx.skip(`"${firstFailed}" failed`);
            return;
          }
          const s0 = Date.now();
          try {
            await step.run();
            steps.push({ step: step.name, outcome: 'passed', seconds: (Date.now() - s0) / 1000 });
          } catch (err) {
            firstFailed = step.name;
            const seconds = (Date.now() - s0) / 1000;
            steps.push({ step: step.name, outcome: 'failed', seconds, error: firstLines(err) });
            throw err;
          }
        },
        STEP_TIMEOUT_MS,
      );
    }
  });
}

/** Why: every version pair runs the pair body on a lab booted for its majors. */
export function describePair(p: VersionPair, opts: DescribePairOptions = {}): void {
  describeSteps(
    {
      title: `PostgreSQL ${pairLabel(p)}`,
      pair: `${p.a}↔${p.b}`,
      majors: p,
      from: p.from,
      boot: async () => void (await labUp({ deb: debPath(), versions: { a: p.a, b: p.b } })),
      steps: pairSteps(p),
    },
    opts,
  );
}
