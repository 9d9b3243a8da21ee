/** One `name = value` line of postgresql.conf, with where it was found. */
export interface ConfEntry {
  name: string;
  value: string;
  line: number;
}

const LINE = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*(.*)$/;

/** Parses postgresql.conf text the way the server does for plain settings: last one wins, comments dropped. */
export function parseConf(text: string): ConfEntry[] {
  const entries: ConfEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = LINE.exec(raw);
    if (!match) continue;
    const value = parseValue(match[2] ?? '');
    if (value === undefined) continue;
    entries.push({ name: (match[1] ?? '').toLowerCase(), value, line: i + 1 });
  }
  return entries;
}

/** The effective value of a setting in one file (the last assignment), or undefined. */
export function confValue(entries: readonly ConfEntry[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  let found: string | undefined;
  for (const e of entries) if (e.name === wanted) found = e.value;
  return found;
}

function parseValue(rest: string): string | undefined {
  const s = rest.trimStart();
  if (s.startsWith("'")) {
    let out = '';
    for (let i = 1; i < s.length; i++) {
      const c = s[i];
      if (c === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        return out;
      }
      if (c === '\\' && i + 1 < s.length) {
        const [text, used] = unescape(s, i + 1);
        out += text;
        i += used;
        continue;
      }
      out += c;
    }
    return undefined;
  }
  const bare = /^([^\s#]*)/.exec(s)?.[1] ?? '';
  return bare === '' ? undefined : bare;
}

const ESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * One backslash escape as the server's GUC_scanstr reads it: \b \f \n \r \t, up to three octal digits, else the
 * character.
 */
function unescape(s: string, at: number): [text: string, used: number] {
  const c = s[at] ?? '';
  if (ESCAPES[c] !== undefined) return [ESCAPES[c], 1];
  const octal = /^[0-7]{1,3}/.exec(s.slice(at, at + 3))?.[0];
  if (octal) return [String.fromCharCode(parseInt(octal, 8) & 0xff), octal.length];
  return [c, 1];
}
