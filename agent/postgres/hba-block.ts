import { PgduplexError } from '../../shared/errors.js';
import type { HostAddress } from '../firewall/address.js';
import { OWNED_HEADER } from '../files/owned-file.js';

/** What one peer's block allows: the database (and optionally physical replication) for one role. */
export interface HbaBlockSpec {
  peer: HostAddress;
  role: string;
  database: string;
  physical: boolean;
}

/** A physical line of the file and its terminator, so joining the lines gives back the exact bytes. */
interface Line {
  body: string;
  eol: '' | '\n' | '\r\n';
}

const BEGIN = /^# BEGIN pgduplex peer (\S+)\s*$/;
const END = /^# END pgduplex peer (\S+)\s*$/;

/** The rule lines of a peer's block, in the order pg_hba.conf gets them. */
export function hbaRuleLines(spec: HbaBlockSpec): string[] {
  const cidr = `${spec.peer.address}/${spec.peer.family === 4 ? 32 : 128}`;
  const line = (db: string) =>
    ['hostssl'.padEnd(8), db.padEnd(16), spec.role.padEnd(16), cidr.padEnd(24), 'scram-sha-256'].join(' ');
  return spec.physical ? [line(spec.database), line('replication')] : [line(spec.database)];
}

/** The whole block, markers and ownership header included. */
export function hbaBlockLines(spec: HbaBlockSpec): string[] {
  return [
    `# BEGIN pgduplex peer ${spec.peer.address}`,
    OWNED_HEADER,
    ...hbaRuleLines(spec),
    `# END pgduplex peer ${spec.peer.address}`,
  ];
}

/** A peer's existing block, markers included, or undefined when the file has none for it. */
export function existingBlock(text: string, address: string): string[] | undefined {
  const lines = splitLines(text);
  const block = findBlocks(lines).get(address);
  return block && lines.slice(block.begin, block.end + 1).map((l) => l.body);
}

/** The rule lines of a block (what PostgreSQL reads from it). */
export function rulesOf(block: readonly string[]): string[] {
  return block.filter((b) => b.trim() !== '' && !b.trimStart().startsWith('#'));
}

/**
 * Puts a peer's block where it takes effect: pg_hba.conf is first-match, so the block goes before the
 * first line that could match a TCP connection (any rule but `local` or another peer's block, or an
 * include), together with the comments right above that line. A block already ahead of all such lines
 * is rewritten where it is, so blocks of several peers keep their order. No other byte changes.
 * Returns the new text and the 1-based line numbers of the rules in it.
 */
export function placeBlock(
  text: string,
  address: string,
  block: readonly string[],
): { text: string; ruleLines: number[] } {
  const current = splitLines(text);
  const own = findBlocks(current).get(address);
  if (own && own.begin < firstForeignRule(current) && startsLogical(current, own.begin)) {
    const eol = (current[own.begin] as Line).eol || '\n';
    const added: Line[] = block.map((body) => ({ body, eol }));
    (added[added.length - 1] as Line).eol = (current[own.end] as Line).eol;
    current.splice(own.begin, own.end - own.begin + 1, ...added);
    return { text: joinLines(current), ruleLines: ruleLinesOf(added, own.begin) };
  }
  const lines = splitLines(removeBlock(text, address));
  const at = insertionIndex(lines);
  const eol = lines.find((l) => l.eol !== '')?.eol ?? '\n';
  const added: Line[] = block.map((body) => ({ body, eol }));
  const last = lines[at - 1];
  if (at === lines.length && last !== undefined && last.eol === '') {
    last.eol = last.body.endsWith('\r') ? '\r\n' : eol;
    (added[added.length - 1] as Line).eol = '';
  }
  lines.splice(at, 0, ...added);
  return { text: joinLines(lines), ruleLines: ruleLinesOf(added, at) };
}

/** Removes a peer's block exactly as placeBlock added it; a file without one comes back unchanged. */
export function removeBlock(text: string, address: string): string {
  const lines = splitLines(text);
  const block = findBlocks(lines).get(address);
  if (!block) return text;
  const endsFile = (lines[block.end] as Line).eol === '';
  lines.splice(block.begin, block.end - block.begin + 1);
  const before = lines[block.begin - 1];
  if (endsFile && before !== undefined && block.begin === lines.length) before.eol = '';
  return joinLines(lines);
}

/** Every peer block in the file by address; refuses a file whose markers do not pair up. */
function findBlocks(lines: readonly Line[]): Map<string, { begin: number; end: number }> {
  const blocks = new Map<string, { begin: number; end: number }>();
  let open: { address: string; begin: number } | undefined;
  for (const [i, { body }] of lines.entries()) {
    const begin = BEGIN.exec(body);
    const end = END.exec(body);
    if (begin) {
      const address = begin[1] as string;
      if (open)
        throw damaged(`the block for ${open.address} (line ${open.begin + 1}) has no END line before line ${i + 1}`);
      if (blocks.has(address)) throw damaged(`there are two blocks for ${address} (line ${i + 1})`);
      open = { address, begin: i };
    } else if (end) {
      if (!open || open.address !== end[1]) throw damaged(`line ${i + 1} ends a block that does not begin`);
      blocks.set(open.address, { begin: open.begin, end: i });
      open = undefined;
    }
  }
  if (open) throw damaged(`the block for ${open.address} (line ${open.begin + 1}) has no END line`);
  return blocks;
}

/** Index of the line the block goes before (lines.length: at the end). */
function insertionIndex(lines: readonly Line[]): number {
  let at = firstForeignRule(lines);
  if (at === lines.length) {
    if (lines.length > 0 && continues(lines[lines.length - 1] as Line)) {
      throw damaged('its last line ends with a backslash (a continuation into nothing)');
    }
    return at;
  }
  while (
    at > 0 &&
    startsLogical(lines, at - 1) &&
    isComment(lines[at - 1] as Line) &&
    !END.test((lines[at - 1] as Line).body)
  )
    at--;
  return at;
}

/** The first line that starts a rule which could match a TCP connection and is not a pgduplex block's. */
function firstForeignRule(lines: readonly Line[]): number {
  const blocks = [...findBlocks(lines).values()];
  const at = lines.findIndex(
    (l, i) =>
      startsLogical(lines, i) &&
      l.body.trim() !== '' &&
      !isComment(l) &&
      firstToken(l.body) !== 'local' &&
      !blocks.some((b) => b.begin < i && i < b.end),
  );
  return at === -1 ? lines.length : at;
}

function startsLogical(lines: readonly Line[], i: number): boolean {
  return i === 0 || !continues(lines[i - 1] as Line);
}

function isComment(l: Line): boolean {
  return l.body.trimStart().startsWith('#');
}

function ruleLinesOf(added: readonly Line[], at: number): number[] {
  return added.flatMap((l, i) => (l.body.startsWith('#') ? [] : [at + i + 1]));
}

/** PostgreSQL joins a line ending in a backslash with the next one (after dropping CR/LF). */
function continues(l: Line): boolean {
  return l.body.replace(/\r$/, '').endsWith('\\');
}

function firstToken(body: string): string {
  return body.trim().split(/[\s#]/, 1)[0] ?? '';
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\n', i);
    if (nl === -1) {
      lines.push({ body: text.slice(i), eol: '' });
      break;
    }
    const crlf = nl > i && text[nl - 1] === '\r';
    lines.push({ body: text.slice(i, crlf ? nl - 1 : nl), eol: crlf ? '\r\n' : '\n' });
    i = nl + 1;
  }
  return lines;
}

function joinLines(lines: readonly Line[]): string {
  return lines.map((l) => l.body + l.eol).join('');
}

function damaged(why: string): PgduplexError {
  return new PgduplexError('PG_HBA_INVALID', `pg_hba.conf cannot be edited safely: ${why}`, {
    hint: 'fix the "# BEGIN/END pgduplex peer" lines by hand (or remove the block), then run the action again',
  });
}
