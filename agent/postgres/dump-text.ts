// The peer's schema dump as text: what the importer drops from it before psql reads it, and what it refuses
// outright. This is not the security boundary (psql's \restrict, an unprivileged role and the catalog check
// after the import are): it makes an honest dump importable and an older or hostile one fail before anything
// changes, with a message that says why.
import { randomBytes } from 'node:crypto';
import { createsSchemaLine } from './schema-empty.js';

/** What the importer made of the dump: the SQL to replay, or the lines it refuses. */
export interface PreparedDump {
  sql: string;
  refused: string[];
}

const RESTRICT_LINE = /^\\(un)?restrict [A-Za-z0-9]+$/;
// The extensions action creates them as the peer has them, as a superuser; the import role cannot.
const EXTENSION_LINE = /^(CREATE EXTENSION( IF NOT EXISTS)? \S+( WITH SCHEMA \S+)?|COMMENT ON EXTENSION \S+ IS .*);$/;
const OWNER_LINE = /^ALTER \S.* OWNER TO \S+;$/i;
const ACL_LINE = /^(GRANT|REVOKE) /i;
const MAX_REFUSED = 5;

/**
 * Drops the dump's own \restrict/\unrestrict lines, the schema's CREATE SCHEMA and COMMENT ON SCHEMA, and
 * its extensions' lines; refuses any other line that is a psql meta-command and the owner and grant lines a
 * dump made without --no-owner --no-privileges holds (an older pgduplex exported it).
 */
export function prepareDump(text: string, schema: string): PreparedDump {
  const creates = createsSchemaLine(schema);
  const comment = new RegExp(`^COMMENT ON SCHEMA (${schema}|"${schema}") IS .*;$`);
  const refused: string[] = [];
  const kept: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (RESTRICT_LINE.test(line) || creates.test(line) || comment.test(line) || EXTENSION_LINE.test(line)) return;
    const why = line.startsWith('\\')
      ? 'a psql meta-command'
      : OWNER_LINE.test(line)
        ? 'an owner (the dump was made without --no-owner: is the peer on an older pgduplex?)'
        : ACL_LINE.test(line)
          ? 'a grant (the dump was made without --no-privileges: is the peer on an older pgduplex?)'
          : undefined;
    if (why === undefined) kept.push(line);
    else if (refused.length < MAX_REFUSED) refused.push(`line ${i + 1}, ${why}: ${excerpt(line)}`);
  });
  return { sql: kept.join('\n'), refused };
}

/**
 * The script psql runs: restricted with a key the peer cannot know, so psql refuses every meta-command the
 * text holds, wherever in a line it stands (psql ≥ 17.6, 16.10, 15.14, 14.19, 13.22).
 */
export function restrictedScript(sql: string, key = randomBytes(24).toString('hex')): string {
  return `\\restrict ${key}\n${sql}\n`;
}

const RESTRICT_SINCE: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };

/** Whether the psql of `version` ("17.12", "18.1", "19rc1") knows \restrict. */
export function psqlHasRestrict(version: string): boolean {
  const m = /^(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2] ?? 0);
  if (major >= 18) return true;
  const since = RESTRICT_SINCE[major];
  return since !== undefined && minor >= since;
}

/** A refused line as the error shows it: printable, short. */
function excerpt(line: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
