// PGDX_LAB_ID parsing; kept apart from constants.ts so the CLI can check the id before loading the lab.
import { LabError } from './errors.js';

/**
 * Why: several labs can run on one host at once, each under its own PGDX_LAB_ID. Unset means the
 * default lab with the historical names. An id is 1-6 of [a-z0-9], so the longest namespace name
 * (`pgdx<ID>-sw`) stays within the kernel's 15 characters and the id never contains the '-' that
 * separates it from the suffix (no two ids can produce the same name). Set but empty is an error,
 * not the default lab: `PGDX_LAB_ID=$TYPO` must not silently tear down someone else's lab.
 */
export function parseLabId(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!/^[a-z0-9]{1,6}$/.test(value)) {
    throw new LabError(
      `PGDX_LAB_ID=${JSON.stringify(value)} is not a valid lab id (expected 1-6 characters of a-z and 0-9, or unset for the default lab)`,
    );
  }
  return value;
}
