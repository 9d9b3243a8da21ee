// The lab's one error type, in a module of its own so constants.ts can throw it at load time
// (sh.ts imports constants.ts; importing sh.ts from constants.ts would be a cycle).

/** Why: CLI prints only the message of this error (no stack), tests get a precise reason. */
export class LabError extends Error {
  override name = 'LabError';
}
