import { describe, expect, it } from 'vitest';
import { parseHostAddress } from '../../../agent/firewall/address.js';
import { foreignPortRules } from '../../../agent/firewall/foreign-rules.js';

const peer = parseHostAddress('10.0.0.2');
const save = (...rules: string[]) =>
  ['*nat', '-A INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 5432 -j ACCEPT', 'COMMIT', '*filter', ':INPUT DROP [0:0]']
    .concat(':PGDUPLEX - [0:0]', rules, 'COMMIT')
    .join('\n');
// What `iptables -A INPUT -p tcp --dport 5432 -s 10.0.0.2 -j ACCEPT` saves as.
const SCRIPT_RULE = '-A INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 5432 -j ACCEPT';

describe('foreignPortRules', () => {
  it("finds the script's INPUT rule with its position, not pgduplex's rule in its chain", () => {
    const text = save(
      '-A INPUT -j PGDUPLEX',
      '-A INPUT -i lo -j ACCEPT',
      SCRIPT_RULE,
      '-A PGDUPLEX -s 10.0.0.2/32 -p tcp -m tcp --dport 5432 -m comment --comment "pgduplex postgresql" -j ACCEPT',
    );
    expect(foreignPortRules(text, peer, 5432)).toEqual([{ family: 4, position: 3, rule: SCRIPT_RULE }]);
  });

  it('counts ranges and multiport lists that include the port', () => {
    const range = '-A INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 5000:6000 -j ACCEPT';
    const multi = '-A INPUT -s 10.0.0.2/32 -p tcp -m multiport --dports 22,5432 -j ACCEPT';
    expect(foreignPortRules(save(range, multi), peer, 5432).map((r) => r.position)).toEqual([1, 2]);
  });

  it('leaves other sources, ports, targets, protocols and negations alone', () => {
    const text = save(
      '-A INPUT -s 10.0.0.3/32 -p tcp -m tcp --dport 5432 -j ACCEPT',
      '-A INPUT -p tcp -m tcp --dport 5432 -j ACCEPT',
      '-A INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 5433 -j ACCEPT',
      '-A INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 5432 -j DROP',
      '-A INPUT -s 10.0.0.2/32 -p udp -m udp --dport 5432 -j ACCEPT',
      '-A INPUT ! -s 10.0.0.2/32 -p tcp -m tcp --dport 5432 -j ACCEPT',
    );
    expect(foreignPortRules(text, peer, 5432)).toEqual([]);
  });

  it('matches an IPv6 peer as ip6tables-save prints it', () => {
    const v6 = parseHostAddress('fd00:231:7::12');
    const rule = '-A INPUT -s fd00:231:7::12/128 -p tcp -m tcp --dport 5432 -j ACCEPT';
    expect(foreignPortRules(save(rule), v6, 5432)).toEqual([{ family: 6, position: 1, rule }]);
  });
});
