import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OWNED_HEADER } from '../../../agent/files/owned-file.js';
import {
  existingBlock,
  hbaBlockLines,
  hbaRuleLines,
  placeBlock,
  removeBlock,
  rulesOf,
  type HbaBlockSpec,
} from '../../../agent/postgres/hba-block.js';
import { parseHostAddress } from '../../../agent/firewall/address.js';

// The tail of Debian 13's pg_hba.conf as FS PBX leaves it (md5 on the host lines).
const DEBIAN = [
  '# configuration parameter, or via the -i or -h command line switches.',
  '',
  '# DO NOT DISABLE!',
  '# Database administrative login by Unix domain socket',
  'local   all             postgres                                peer',
  '',
  '# TYPE  DATABASE        USER            ADDRESS                 METHOD',
  '',
  '# "local" is for Unix domain socket connections only',
  'local   all             all                                     peer',
  '# IPv4 local connections:',
  'host    all             all             127.0.0.1/32            md5',
  '# IPv6 local connections:',
  'host    all             all             ::1/128                 md5',
  'local   replication     all                                     peer',
  'host    replication     all             127.0.0.1/32            md5',
  '',
].join('\n');

const spec = (peer: string, extra: Partial<HbaBlockSpec> = {}): HbaBlockSpec => ({
  peer: parseHostAddress(peer),
  role: 'pgduplex_repl',
  database: 'fusionpbx',
  physical: false,
  ...extra,
});
const B4 = spec('10.231.7.12');
const place = (text: string, s: HbaBlockSpec = B4) => placeBlock(text, s.peer.address, hbaBlockLines(s));

describe('pg_hba block rendering', () => {
  it('renders markers, the ownership header and one hostssl scram line for the peer /32', () => {
    expect(hbaBlockLines(B4)).toEqual([
      '# BEGIN pgduplex peer 10.231.7.12',
      OWNED_HEADER,
      'hostssl  fusionpbx        pgduplex_repl    10.231.7.12/32           scram-sha-256',
      '# END pgduplex peer 10.231.7.12',
    ]);
  });

  it('uses /128 for IPv6 and adds the replication line only when physical replication is asked for', () => {
    const lines = hbaRuleLines(spec('FD00:231:7:0::12', { physical: true })).map((l) => l.replace(/\s+/g, ' '));
    expect(lines).toEqual([
      'hostssl fusionpbx pgduplex_repl fd00:231:7::12/128 scram-sha-256',
      'hostssl replication pgduplex_repl fd00:231:7::12/128 scram-sha-256',
    ]);
  });
});

describe('placing the block', () => {
  it('goes after the local lines, before the first host rule and the comment above it, changing no other byte', () => {
    const { text, ruleLines } = place(DEBIAN);
    const lines = text.split('\n');
    expect(lines.slice(9, 16)).toEqual([
      'local   all             all                                     peer',
      '# BEGIN pgduplex peer 10.231.7.12',
      OWNED_HEADER,
      hbaRuleLines(B4)[0],
      '# END pgduplex peer 10.231.7.12',
      '# IPv4 local connections:',
      'host    all             all             127.0.0.1/32            md5',
    ]);
    expect(ruleLines).toEqual([13]);
    expect(lines[12]).toBe(hbaRuleLines(B4)[0]);
    expect(removeBlock(text, B4.peer.address)).toBe(DEBIAN);
  });

  it('is idempotent, and replaces an existing block for the same peer in place', () => {
    const once = place(DEBIAN).text;
    expect(place(once).text).toBe(once);
    const withPhysical = place(once, { ...B4, physical: true });
    expect(withPhysical.ruleLines).toEqual([13, 14]);
    expect(rulesOf(existingBlock(withPhysical.text, B4.peer.address) ?? [])).toHaveLength(2);
    expect(removeBlock(withPhysical.text, B4.peer.address)).toBe(DEBIAN);
  });

  it('moves a block found after a rule that could match first', () => {
    const late = `${DEBIAN}${hbaBlockLines(B4).join('\n')}\n`;
    const { text } = place(late);
    expect(text).toBe(place(DEBIAN).text);
  });

  it('keeps one block per peer; removing one leaves the other untouched', () => {
    const B6 = spec('fd00:231:7::12');
    const both = place(place(DEBIAN).text, B6).text;
    expect(existingBlock(both, B6.peer.address)).toEqual(hbaBlockLines(B6));
    expect(existingBlock(both, B4.peer.address)).toEqual(hbaBlockLines(B4));
    expect(removeBlock(removeBlock(both, B6.peer.address), B4.peer.address)).toBe(DEBIAN);
    expect(removeBlock(both, B6.peer.address)).toBe(place(DEBIAN).text);
    // A later peer's block goes after the earlier one, and re-placing either changes nothing.
    expect(both.indexOf(`BEGIN pgduplex peer ${B4.peer.address}`)).toBeLessThan(
      both.indexOf(`BEGIN pgduplex peer ${B6.peer.address}`),
    );
    expect(place(both, B4).text).toBe(both);
    expect(place(both, B6).text).toBe(both);
  });

  it('rewrites an effective block where it is, keeping a missing final newline', () => {
    const atEnd = `local all all peer\n${hbaBlockLines(B4).join('\n')}`;
    const changed = place(atEnd, { ...B4, role: 'other_role' });
    expect(changed.text).toBe(`local all all peer\n${hbaBlockLines({ ...B4, role: 'other_role' }).join('\n')}`);
    expect(changed.ruleLines).toEqual([4]);
  });

  it('keeps CRLF line endings and a missing final newline', () => {
    const crlf = DEBIAN.replace(/\n/g, '\r\n');
    const placed = place(crlf).text;
    expect(placed).toContain(`\r\n# BEGIN pgduplex peer 10.231.7.12\r\n${OWNED_HEADER}\r\n`);
    expect(placed.replace(/\r\n/g, '')).not.toContain('\n');
    expect(removeBlock(placed, B4.peer.address)).toBe(crlf);

    const lone = 'local all all peer\r';
    expect(removeBlock(place(lone).text, B4.peer.address)).toBe(lone);

    const bare = 'local all all peer\n# the end';
    const appended = place(bare).text;
    expect(appended).toBe(`local all all peer\n# the end\n${hbaBlockLines(B4).join('\n')}`);
    expect(removeBlock(appended, B4.peer.address)).toBe(bare);
  });

  it('handles an empty file', () => {
    const { text, ruleLines } = place('');
    expect(text).toBe(`${hbaBlockLines(B4).join('\n')}\n`);
    expect(ruleLines).toEqual([3]);
    expect(removeBlock(text, B4.peer.address)).toBe('');
  });

  it('treats include directives as rules that could match first', () => {
    const text = 'local all all peer\ninclude_dir conf.d\nhost all all 0.0.0.0/0 md5\n';
    expect(place(text).text.split('\n')[1]).toBe('# BEGIN pgduplex peer 10.231.7.12');
  });

  it('never splits a backslash continuation', () => {
    const text =
      'local all all peer\n# about the next rule \\\nhost all all 10.0.0.0/8 md5\nhost all \\\n  all 0.0.0.0/0 md5\n';
    const { text: placed } = place(text);
    // Line 2 ends in a backslash, so PostgreSQL reads line 3 as part of that comment: the first rule starts on line 4.
    expect(placed.split('\n')[3]).toBe('# BEGIN pgduplex peer 10.231.7.12');
    expect(removeBlock(placed, B4.peer.address)).toBe(text);
    expect(() => place('local all all peer \\')).toThrow(/backslash/);
  });

  it('refuses markers that do not pair up', () => {
    const begin = '# BEGIN pgduplex peer 10.231.7.12';
    const end = '# END pgduplex peer 10.231.7.12';
    for (const bad of [
      `${begin}\nhost all all 1.2.3.4/32 md5\n`,
      `${end}\n`,
      `${begin}\n${begin}\n${end}\n`,
      `${begin}\n${end}\n${begin}\n${end}\n`,
      `${begin}\n# END pgduplex peer 10.231.7.13\n`,
    ]) {
      expect(() => place(bad)).toThrow(expect.objectContaining({ code: 'PG_HBA_INVALID' }));
    }
  });
});

describe('placing then removing gives back the exact original bytes (fuzz)', () => {
  const line = fc.oneof(
    fc.constantFrom(
      '',
      '   ',
      '# comment',
      '#',
      'local all all peer',
      'local replication all peer',
      'host all all 127.0.0.1/32 md5',
      'hostssl all all ::1/128 scram-sha-256',
      'include_if_exists x.conf',
      'host all \\',
      '\t# indented comment',
      'local all all peer\r',
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).filter((s) => !s.includes('\n')),
  );
  const file = fc
    .tuple(fc.array(line, { maxLength: 25 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
    .map(([lines, eol, finalEol]) => lines.join(eol) + (finalEol && lines.length > 0 ? eol : ''));
  const peers = fc.constantFrom(B4, spec('fd00::1'), spec('192.0.2.1', { physical: true }));

  it('holds for arbitrary files without pgduplex markers', () => {
    fc.assert(
      fc.property(file, peers, (text, s) => {
        let placed: ReturnType<typeof place>;
        try {
          placed = place(text, s);
        } catch (err) {
          expect(String((err as Error).message)).toMatch(/backslash/);
          return;
        }
        expect(removeBlock(placed.text, s.peer.address)).toBe(text);
        expect(place(placed.text, s).text).toBe(placed.text);
        const lines = placed.text.split('\n').map((l) => l.replace(/\r$/, ''));
        for (const [i, n] of placed.ruleLines.entries()) expect(lines[n - 1]).toBe(hbaRuleLines(s)[i]);
      }),
      { numRuns: 2000 },
    );
  });

  it('holds for two peers: each placement is stable, and removing both gives back the original', () => {
    const B6 = spec('fd00:231:7::12', { physical: true });
    fc.assert(
      fc.property(file, fc.boolean(), (text, b6First) => {
        const [x, y] = b6First ? [B6, B4] : [B4, B6];
        let both: string;
        try {
          both = place(place(text, x).text, y).text;
        } catch {
          return;
        }
        expect(place(both, x).text).toBe(both);
        expect(place(both, y).text).toBe(both);
        expect(removeBlock(removeBlock(both, x.peer.address), y.peer.address)).toBe(text);
        expect(removeBlock(removeBlock(both, y.peer.address), x.peer.address)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it('puts the block before every rule line except local ones', () => {
    fc.assert(
      fc.property(file, (text) => {
        let placed: ReturnType<typeof place>;
        try {
          placed = place(text);
        } catch {
          return;
        }
        const first = placed.ruleLines[0] ?? 0;
        const before = placed.text
          .split('\n')
          .slice(0, first - 1)
          .map((l) => l.trim());
        const continued = before.some((l) => l.endsWith('\\'));
        if (!continued)
          expect(before.filter((l) => l !== '' && !l.startsWith('#') && !/^local(\s|$)/.test(l))).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });
});
