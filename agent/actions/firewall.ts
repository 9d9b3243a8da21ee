import type { AgentServices } from './context.js';
import { parseHostAddress } from '../firewall/address.js';
import { allowPeerPort, listPeerRules, persist, revokePeerPort } from '../firewall/firewall.js';
import { plannedChange } from './change.js';
import { firewallChange } from '../../shared/protocol/firewall.js';

type Rule = { address: string; port: number; purpose: string };
const describe = (r: Rule) =>
  `allow tcp/${r.port} (${r.purpose}) from ${r.address} in chain PGDUPLEX ` +
  `(${r.address.includes(':') ? 'ip6tables' : 'iptables'})`;

/**
 * `firewall`: opens ports (PostgreSQL, the agent) for the peer's address only, in the agent's own
 * chain; undo removes exactly what apply added, leaving iptables-save as it was.
 */
export const firewallAction = (s: AgentServices) => {
  const opts = { timeoutMs: s.limits.toolTimeoutMs };
  const missing = async (params: {
    peer: string;
    ports: Array<{ port: number; purpose: string }>;
  }): Promise<Rule[]> => {
    const address = parseHostAddress(params.peer).address;
    const present = await listPeerRules(opts);
    return (
      params.ports
        .map((p) => ({ address, ...p }))
        // A rule whose INPUT jump is gone (a crash between the two, a firewall script) takes no effect: apply again.
        .filter(
          (r) =>
            !present.some((x) => x.live && x.address === r.address && x.port === r.port && x.purpose === r.purpose),
        )
    );
  };
  const save = async (): Promise<string[]> => {
    const r = await persist(opts);
    return r.persisted ? [] : [`not persisted: ${r.reason ?? 'netfilter-persistent failed'}`];
  };
  return plannedChange(firewallChange, {
    async plan(params) {
      const todo = await missing(params);
      return { changes: todo.map(describe), record: { added: todo }, state: todo };
    },
    async make({ state: todo }, rollback) {
      try {
        for (const r of todo) await allowPeerPort(r, opts);
      } catch (err) {
        // All were missing before; one that failed half-way may have left a chain or a jump.
        for (const r of [...todo].reverse()) await rollback(() => revokePeerPort(r, opts));
        throw err;
      }
      return { notes: await save() };
    },
    async undo({ added }) {
      const undone: string[] = [];
      for (const r of [...added].reverse()) {
        if ((await revokePeerPort(r, opts)).changed) undone.push(`removed: ${describe(r)}`);
      }
      await save();
      return undone;
    },
  });
};
