import type { Logger } from '../../shared/log.js';
import { allowPeerPort, persist, revokePeerPort } from '../firewall/firewall.js';
import type { PeerFirewall } from './peer-service.js';

/** The agent port opened for exactly the peer's address in the agent's own chain, then persisted. */
export function agentPortFirewall(port: number, timeoutMs: number, log: Logger): PeerFirewall {
  const opts = { timeoutMs };
  const save = async (): Promise<string | undefined> => {
    const r = await persist(opts);
    if (r.persisted) return undefined;
    log.warn({ reason: r.reason }, 'firewall rules not persisted');
    return `not persisted: ${r.reason ?? 'netfilter-persistent failed'}`;
  };
  return {
    async allow(address) {
      const r = await allowPeerPort({ address, port, purpose: 'agent' }, opts);
      const note = r.changed ? await save() : undefined;
      return note === undefined ? r : { ...r, note };
    },
    async revoke(address) {
      const r = await revokePeerPort({ address, port, purpose: 'agent' }, opts);
      if (r.changed) await save();
      return r;
    },
  };
}
