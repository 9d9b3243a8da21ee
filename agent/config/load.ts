import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { PgduplexError } from '../../shared/errors.js';
import { agentConfigSchema, type AgentConfig } from './schema.js';

/** Reads and validates agent.json; every failure is one line naming the file, the key and the fault. */
export async function loadAgentConfig(path: string, opts: { mustExist: boolean }): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !opts.mustExist) return agentConfigSchema.parse({});
    throw new PgduplexError('CONFIG_UNREADABLE', `${path}: cannot read the config file (${code ?? 'error'})`, {
      hint: code === 'ENOENT' ? 'create it or point --config at an existing file' : 'check its permissions',
      cause: err,
    });
  }
  return parseAgentConfig(path, text);
}

/** Parses config text; pure, so the fuzz and unit tests can feed it bytes directly. */
export function parseAgentConfig(path: string, text: string): AgentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PgduplexError('CONFIG_INVALID', `${path}: not valid JSON${jsonErrorLocation(text, err)}`, {
      hint: 'fix the syntax, then restart the agent',
    });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PgduplexError('CONFIG_INVALID', `${path}: must hold a JSON object, e.g. {"listen": {"port": 7740}}`);
  }
  const result = agentConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new PgduplexError('CONFIG_INVALID', `${path}: ${describeIssues(result.error.issues, raw)}`, {
    hint: 'fix the file, then restart the agent',
  });
}

const TYPE_NAMES = new Map<string, string>([
  ['number', 'a number'],
  ['int', 'a whole number'],
  ['string', 'a string'],
  ['object', 'an object'],
  ['boolean', 'true or false'],
]);

function describeIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): string {
  const [first] = issues;
  if (first === undefined) return 'invalid';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return describeIssue(first, raw) + more;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const where = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (where ? `${where}.${k}` : k));
    return `unknown key${keys.length > 1 ? 's' : ''} ${keys.map(quote).join(', ')}`;
  }
  const got = valueAt(raw, issue.path);
  const shown = got === undefined ? '' : ` (got ${preview(got)})`;
  const message =
    issue.code === 'invalid_type' ? `must be ${TYPE_NAMES.get(issue.expected) ?? issue.expected}` : issue.message;
  return `"${where}" ${message}${shown}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function preview(value: unknown): string {
  const text = quote(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** JSON quoting plus the control characters JSON leaves raw (DEL, C1, line separators): one safe line. */
function quote(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function jsonErrorLocation(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  const match = /position (\d+)/.exec(message);
  if (match?.[1] === undefined) return text.trim() === '' ? ' (the file is empty)' : '';
  const pos = Number(match[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}
