import { PgduplexError } from '../../shared/errors.js';
import {
  CHAIN,
  COMMENT_PREFIX,
  JUMP_SPEC,
  MONITORING_PURPOSE,
  monitoringRule,
  peerRule,
  ruleSpec,
  type Family,
  type PeerRule,
} from './rules.js';

/** What the agent needs to know about the filter table, read in one iptables-save call. */
export interface FilterState {
  chainExists: boolean;
  /** 1-based positions of `-j PGDUPLEX` among the INPUT rules; [1] is the only healthy answer. */
  inputJumps: number[];
  /** Every rule in our chain, as token arrays after `-A PGDUPLEX`. */
  chainRules: string[][];
}

/** Reads `iptables-save -t filter` output; other tables and chains are ignored, never rewritten. */
export function parseFilterSave(text: string): FilterState {
  const state: FilterState = { chainExists: false, inputJumps: [], chainRules: [] };
  let inFilter = false;
  let inputCount = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      inFilter = line === '*filter';
      continue;
    }
    if (!inFilter) continue;
    if (line.startsWith(`:${CHAIN} `)) state.chainExists = true;
    if (!line.startsWith('-A ')) continue;
    const tokens = tokenizeSaveLine(line);
    if (tokens[1] === 'INPUT') {
      inputCount++;
      if (sameTokens(tokens.slice(2), JUMP_SPEC)) state.inputJumps.push(inputCount);
    } else if (tokens[1] === CHAIN) {
      state.chainRules.push(tokens.slice(2));
    }
  }
  return state;
}

/** Recognises a rule the agent wrote; a hand-made rule in our chain yields undefined and is left alone. */
export function ruleFromTokens(tokens: readonly string[], family: Family): PeerRule | undefined {
  const value = (flag: string): string | undefined => tokens[tokens.indexOf(flag) + 1];
  const source = value('-s');
  const comment = value('--comment');
  const port = Number(value('--dport'));
  if (source === undefined || comment === undefined || !comment.startsWith(COMMENT_PREFIX)) return undefined;
  let rule: PeerRule;
  try {
    const purpose = comment.slice(COMMENT_PREFIX.length);
    rule =
      purpose === MONITORING_PURPOSE ? monitoringRule({ source, port }) : peerRule({ address: source, port, purpose });
  } catch (err) {
    if (err instanceof PgduplexError) return undefined;
    throw err;
  }
  return rule.family === family && sameTokens(tokens, ruleSpec(rule)) ? rule : undefined;
}

/** Splits one save line the way iptables-save quotes it: "..." with \" \\ \' escapes inside. */
export function tokenizeSaveLine(line: string): string[] {
  const tokens: string[] = [];
  let current: string | undefined;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '\\' && i + 1 < line.length) current += line[++i]!;
      else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === ' ' || ch === '\t') {
      if (current !== undefined) tokens.push(current);
      current = undefined;
    } else if (ch === '"') {
      quoted = true;
      current ??= '';
    } else {
      current = (current ?? '') + ch;
    }
  }
  if (current !== undefined) tokens.push(current);
  return tokens;
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
