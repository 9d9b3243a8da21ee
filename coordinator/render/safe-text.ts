// What a terminal acts on: C0 controls, DEL, C1 controls (U+009B is a one-character CSI), line and paragraph
// separators and the bidi controls that reorder what is shown. The CLI's own newlines and colours are added
// after, around text made safe.
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const shown = (c: string): string => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * Text from an agent (a node name, an error, a note, a key from a server log) made safe for one terminal
 * line: a tab becomes a space, every other control character (a newline too) is shown as `\xHH`, so a
 * peer can neither move the cursor, recolour, retitle or clear the screen nor forge a line of output.
 */
export function safeLine(text: string): string {
  return text.replace(/\t/g, ' ').replace(UNSAFE, shown);
}

/** A copy of an agent's answer with every string in it made safeLine, for a renderer; --json prints the original. */
export function safeDeep<T>(value: T): T {
  if (typeof value === 'string') return safeLine(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => safeDeep(v)) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = safeDeep(v);
    return out as T;
  }
  return value;
}

/**
 * JSON.stringify for --json output: the same document, with the characters JSON leaves raw (DEL, C1 such as
 * U+009B, line separators, bidi controls) written as \u escapes, so a terminal showing it acts on none.
 */
export function jsonText(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
