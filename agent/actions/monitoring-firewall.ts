import { toPgduplexError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { monitoringFirewallChange } from '../../shared/protocol/firewall.js';
import { allowRule, listPeerRules, persist, revokeRule } from '../firewall/firewall.js';
import { MONITORING_PURPOSE, monitoringRule, type PeerRule } from '../firewall/rules.js';
import { changeJournal, plannedChange, undoJournalEntry, type ChangeAction } from './change.js';
import type { AgentServices } from './context.js';

type Opening = { source: string; port: number };
const describe = (o: Opening) =>
  `allow tcp/${o.port} (monitoring) from ${o.source} in chain PGDUPLEX ` +
  `(${o.source.includes(':') ? 'ip6tables' : 'iptables'})`;
const ruleOf = (o: Opening): PeerRule => monitoringRule(o);
const textOf = (r: { address: string; prefix: number }): string => `${r.address}/${r.prefix}`;

/**
 * `monitoring-firewall`: the agent port opened for one monitoring host or network in the agent's own chain,
 * journaled like the peer's rules; undo removes exactly that rule.
 */
export const monitoringFirewallAction = (s: AgentServices) => {
  const opts = { timeoutMs: s.limits.toolTimeoutMs };
  const save = async (): Promise<string[]> => {
    const r = await persist(opts);
    return r.persisted ? [] : [`not persisted: ${r.reason ?? 'netfilter-persistent failed'}`];
  };
  return plannedChange(monitoringFirewallChange, {
    async plan(params) {
      const rule = ruleOf(params);
      const wanted = { source: textOf(rule), port: rule.port };
      const present = await listPeerRules(opts);
      const live = present.some(
        (x) => x.live && x.purpose === MONITORING_PURPOSE && textOf(x) === wanted.source && x.port === rule.port,
      );
      const todo = live ? [] : [wanted];
      return { changes: todo.map(describe), record: { added: todo }, state: todo };
    },
    async make({ state: todo }, rollback) {
      try {
        for (const o of todo) await allowRule(ruleOf(o), opts);
      } catch (err) {
        for (const o of [...todo].reverse()) await rollback(() => revokeRule(ruleOf(o), opts));
        throw err;
      }
      return { notes: await save() };
    },
    async undo({ added }) {
      const undone: string[] = [];
      for (const o of [...added].reverse()) {
        if ((await revokeRule(ruleOf(o), opts)).changed) undone.push(`removed: ${describe(o)}`);
      }
      await save();
      return undone;
    },
  });
};

/**
 * At start-up: makes the agent port's monitoring rules match agent.json's monitoringHosts. A host that left
 * the list has its journal entry undone (and a rule of ours no entry covers, e.g. after a purge, is removed);
 * a listed host without a live rule gets one, journaled. Failures are logged: health still answers.
 */
export async function syncMonitoringFirewall(s: AgentServices, hosts: readonly string[], log: Logger): Promise<void> {
  const action = monitoringFirewallAction(s);
  const port = s.port;
  const wanted = new Set(hosts.map((h) => textOf(monitoringRule({ source: h, port }))));
  const keep = (o: Opening) => o.port === port && wanted.has(o.source);
  const entries = (await s.journal.list()).filter((e) => !e.undone && e.action === monitoringFirewallChange.name);
  for (const e of entries) {
    const record = monitoringFirewallChange.record.safeParse(e.undo);
    if (!record.success || record.data.added.every(keep)) continue;
    const undone = await undoJournalEntry([action as unknown as ChangeAction], s.journal, e.id);
    log.info({ journalId: e.id, undone }, 'monitoring host left agent.json; its firewall rule is removed');
  }
  const opts = { timeoutMs: s.limits.toolTimeoutMs };
  for (const r of await listPeerRules(opts)) {
    if (r.purpose !== MONITORING_PURPOSE || keep({ source: textOf(r), port: r.port })) continue;
    await revokeRule(monitoringRule({ source: textOf(r), port: r.port }), opts);
    log.info({ source: textOf(r), port: r.port }, 'removed a monitoring rule no journal entry and no config names');
  }
  const journal = changeJournal(monitoringFirewallChange, s.journal);
  for (const source of wanted) {
    const r = await action.apply({ source, port }, journal);
    if (r.changed) log.info({ source, journalId: r.journalId, notes: r.notes }, 'opened the agent port for monitoring');
  }
}

/** syncMonitoringFirewall that never throws: a firewall failure is logged with its code, and the agent runs on. */
export async function syncMonitoringFirewallLogged(
  s: AgentServices,
  hosts: readonly string[],
  log: Logger,
): Promise<void> {
  try {
    await syncMonitoringFirewall(s, hosts, log);
  } catch (err) {
    const e = toPgduplexError(err);
    log.error({ code: e.code, err: e.message }, 'could not open the agent port for monitoringHosts');
  }
}
