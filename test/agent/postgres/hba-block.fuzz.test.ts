import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHostAddress } from '../../../agent/firewall/address.js';
import {
  existingBlock,
  hbaBlockLines,
  hbaRuleLines,
  placeBlock,
  removeBlock,
  type HbaBlockSpec,
} from '../../../agent/postgres/hba-block.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, textInput, typedOutcome } from '../../fuzz/mutate.js';

// pg_hba.conf as an operator (or an earlier, interrupted run) may have left it: rules, comments,
// continuations, and pgduplex blocks, whole or with markers broken, then damaged further.
const spec = (peer: string, physical = false): HbaBlockSpec => ({
  peer: parseHostAddress(peer),
  role: 'pgduplex_repl',
  database: 'fusionpbx',
  physical,
});
const PEERS = [spec('10.231.7.12'), spec('fd00:231:7::12', true), spec('192.0.2.1')];
const rule = fc.constantFrom(
  '',
  '  ',
  '# comment',
  'local all all peer',
  'host all all 127.0.0.1/32 md5',
  'hostssl all all ::1/128 scram-sha-256',
  'include_dir conf.d',
  'host all \\',
  'local all all peer\r',
);
const chunk = fc.oneof(
  { arbitrary: rule.map((l) => [l]), weight: 6 },
  { arbitrary: fc.constantFrom(...PEERS).map(hbaBlockLines), weight: 4 },
  { arbitrary: fc.constantFrom(...PEERS).map((s) => [`# BEGIN pgduplex peer ${s.peer.address}`]), weight: 1 },
  { arbitrary: fc.constantFrom(...PEERS).map((s) => [`# END pgduplex peer ${s.peer.address}`]), weight: 1 },
);
const file = fc
  .tuple(fc.array(chunk, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([chunks, eol, final]) => {
    const lines = chunks.flat();
    return lines.join(eol) + (final && lines.length > 0 ? eol : '');
  });
const HBA = ['PG_HBA_INVALID'] as const;

describe('pg_hba block editing under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('edits any file it accepts consistently, and refuses the rest with PG_HBA_INVALID', () => {
    fc.assert(
      fc.property(textInput(file), fc.constantFrom(...PEERS), (text, s) => {
        const block = hbaBlockLines(s);
        const before = typedOutcome(HBA, () => existingBlock(text, s.peer.address));
        const placed = typedOutcome(HBA, () => placeBlock(text, s.peer.address, block));
        const removed = typedOutcome(HBA, () => removeBlock(text, s.peer.address));
        if (!placed.ok) return;
        expect(before.ok && removed.ok).toBe(true);
        const out = placed.value;
        expect(existingBlock(out.text, s.peer.address)).toEqual(block);
        expect(placeBlock(out.text, s.peer.address, block).text).toBe(out.text);
        const lines = out.text.split('\n').map((l) => l.replace(/\r$/, ''));
        expect(out.ruleLines.map((n) => lines[n - 1])).toEqual(hbaRuleLines(s));
        expect(existingBlock(removeBlock(out.text, s.peer.address), s.peer.address)).toBeUndefined();
        if (before.ok && before.value === undefined) expect(removeBlock(out.text, s.peer.address)).toBe(text);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
