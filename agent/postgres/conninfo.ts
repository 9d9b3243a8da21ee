/** Where a subscription connects (host, port, user), read from its conninfo; nothing else of it is kept. */
export interface ConnTarget {
  host: string | null;
  port: string | null;
  user: string | null;
}

const KEPT = new Set(['host', 'hostaddr', 'port', 'user']);

/**
 * Reads libpq's `key=value` form (values bare or in single quotes with backslash escapes) or its URI form
 * (`postgresql://user:secret@host:port/db?k=v`), keeping only host, port and user: a password, in either
 * form, is skipped over and never copied. An unreadable conninfo yields nulls, never its text.
 */
export function connTarget(conninfo: string): ConnTarget {
  const found = /^postgres(ql)?:\/\//.test(conninfo) ? fromUri(conninfo) : fromKeywords(conninfo);
  return {
    host: found.get('host') ?? found.get('hostaddr') ?? null,
    port: found.get('port') ?? null,
    user: found.get('user') ?? null,
  };
}

function fromKeywords(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  while (i < text.length) {
    space();
    const key = /^[A-Za-z_]+/.exec(text.slice(i))?.[0];
    if (key === undefined) break;
    i += key.length;
    space();
    if (text[i] !== '=') break;
    i++;
    space();
    let value = '';
    if (text[i] === "'") {
      i++;
      while (i < text.length && text[i] !== "'") {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i++]!;
      }
      if (text[i] !== "'") break;
      i++;
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i++]!;
      }
    }
    if (KEPT.has(key)) out.set(key, value);
  }
  return out;
}

function fromUri(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const m = /^postgres(?:ql)?:\/\/(?:([^@/?]*)@)?([^/?]*)(?:\/[^?]*)?(?:\?(.*))?$/.exec(text);
  if (!m) return out;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const user = m[1]?.split(':')[0];
  if (user) out.set('user', decode(user));
  const hostPort = m[2] ?? '';
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
  if (hp?.[1]) out.set('host', decode(hp[1].replace(/^\[|\]$/g, '')));
  if (hp?.[2]) out.set('port', hp[2]);
  for (const pair of (m[3] ?? '').split('&')) {
    const [k = '', v = ''] = pair.split('=');
    if (KEPT.has(k)) out.set(k, decode(v));
  }
  return out;
}

/** SQL of a conninfo column with its password cut out (key=value and URI forms), so the secret never leaves. */
export const passwordlessConninfo = (column: string): string =>
  String.raw`regexp_replace(regexp_replace(${column},
    '(^|\s)password\s*=\s*(''([^''\\]|\\.)*''|\S+)', '\1', 'g'), '^(postgres(ql)?://[^:@/]*):[^@/]*@', '\1@')`;
