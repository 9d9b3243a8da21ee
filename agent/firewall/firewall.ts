import { PgduplexError } from '../../shared/errors.js';
import { iptables, netfilterPersistentSave, ruleExists, saveFilter, type FirewallOptions } from './iptables.js';
import {
  appendRuleArgv,
  checkJumpArgv,
  checkRuleArgv,
  deleteChainArgv,
  deleteJumpArgv,
  deleteRuleArgv,
  insertJumpArgv,
  newChainArgv,
  peerRule,
  type Family,
  type PeerPort,
  type PeerRule,
} from './rules.js';
import { parseFilterSave, ruleFromTokens, type FilterState } from './save.js';

export type { FirewallBins, FirewallOptions } from './iptables.js';
export type { Family, PeerPort } from './rules.js';

/** One rule of ours as read back from iptables-save. */
export interface ListedPeerRule {
  family: Family;
  address: string;
  /** 32 or 128 (one host) but for a monitoring network. */
  prefix: number;
  port: number;
  purpose: string;
  /** The INPUT jump to our chain is in place (first), so the rule takes effect. */
  live: boolean;
}

let tail: Promise<unknown> = Promise.resolve();

/** Read-modify-write on the tables must not interleave within the agent (e.g. two relayed calls). */
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = tail.then(fn, fn);
  tail = next.catch(() => undefined);
  return next;
}

async function state(family: Family, opts: FirewallOptions): Promise<FilterState> {
  return parseFilterSave(await saveFilter(family, opts));
}

const jumpIsHealthy = (s: FilterState): boolean => s.inputJumps.length === 1 && s.inputJumps[0] === 1;

/** Lets one peer reach one local TCP port: chain, rule, then the INPUT jump at position 1; verified after. */
export async function allowPeerPort(
  input: PeerPort,
  opts: FirewallOptions,
): Promise<{ changed: boolean; family: Family }> {
  return allowRule(peerRule(input), opts);
}

/** allowPeerPort for a rule already validated (a monitoring network's, from monitoringRule). */
export async function allowRule(rule: PeerRule, opts: FirewallOptions): Promise<{ changed: boolean; family: Family }> {
  const family = rule.family;
  return serial(async () => {
    let changed = false;
    const before = await state(family, opts);
    if (!before.chainExists) {
      // Another process (an operator, a second agent run) may have created it since the read above.
      await iptables(family, newChainArgv(), opts).catch(async (err: unknown) => {
        if (!(await state(family, opts)).chainExists) throw err;
      });
      changed = true;
    }
    if (!(await ruleExists(family, checkRuleArgv(rule), opts))) {
      await iptables(family, appendRuleArgv(rule), opts);
      changed = true;
    }
    if (!jumpIsHealthy(before)) {
      for (const _ of before.inputJumps) await iptables(family, deleteJumpArgv(), opts);
      if (!(await ruleExists(family, checkJumpArgv(), opts))) await iptables(family, insertJumpArgv(), opts);
      changed = true;
    }
    await verifyAllowed(rule, opts);
    return { changed, family };
  });
}

async function verifyAllowed(rule: PeerRule, opts: FirewallOptions): Promise<void> {
  const after = await state(rule.family, opts);
  const ruleThere = await ruleExists(rule.family, checkRuleArgv(rule), opts);
  if (ruleThere && after.chainExists && jumpIsHealthy(after)) return;
  const what = !ruleThere
    ? 'the rule is missing'
    : `the INPUT jump is at position(s) [${after.inputJumps.join(', ')}], not [1]`;
  throw new PgduplexError('FIREWALL_UNVERIFIED', `after allowing ${describe(rule)}, ${what}`, {
    hint: 'another program changed the firewall at the same time (a firewall script?); run the action again',
  });
}

/** Removes that one rule; the last rule out also takes the INPUT jump and the chain, leaving no trace. */
export async function revokePeerPort(input: PeerPort, opts: FirewallOptions): Promise<{ changed: boolean }> {
  return revokeRule(peerRule(input), opts);
}

/** revokePeerPort for a rule already validated. */
export async function revokeRule(rule: PeerRule, opts: FirewallOptions): Promise<{ changed: boolean }> {
  const family = rule.family;
  return serial(async () => {
    const before = await state(family, opts);
    if (!before.chainExists) return { changed: false };
    let changed = false;
    for (let i = 0; i <= before.chainRules.length && (await ruleExists(family, checkRuleArgv(rule), opts)); i++) {
      await iptables(family, deleteRuleArgv(rule), opts);
      changed = true;
    }
    const mid = await state(family, opts);
    if (mid.chainExists && mid.chainRules.length === 0) {
      for (const _ of mid.inputJumps) await iptables(family, deleteJumpArgv(), opts);
      await iptables(family, deleteChainArgv(), opts);
      changed = true;
    }
    await verifyRevoked(rule, opts);
    return { changed };
  });
}

async function verifyRevoked(rule: PeerRule, opts: FirewallOptions): Promise<void> {
  const after = await state(rule.family, opts);
  const stillThere = after.chainExists && (await ruleExists(rule.family, checkRuleArgv(rule), opts));
  const orphanJump = !after.chainExists && after.inputJumps.length > 0;
  if (!stillThere && !orphanJump) return;
  throw new PgduplexError(
    'FIREWALL_UNVERIFIED',
    `after revoking ${describe(rule)}, ${stillThere ? 'the rule is still there' : 'an INPUT jump is left'}`,
    {
      hint: 'another program changed the firewall at the same time (a firewall script?); run the action again',
    },
  );
}

/** The rules of ours that are live now, both families, read from iptables-save (hand-made rules are skipped). */
export async function listPeerRules(opts: FirewallOptions): Promise<ListedPeerRule[]> {
  const out: ListedPeerRule[] = [];
  for (const family of [4, 6] as const) {
    const s = await state(family, opts);
    for (const tokens of s.chainRules) {
      const rule = ruleFromTokens(tokens, family);
      if (rule)
        out.push({
          family,
          address: rule.address,
          prefix: rule.prefix,
          port: rule.port,
          purpose: rule.purpose,
          live: jumpIsHealthy(s),
        });
    }
  }
  return out;
}

/** Makes the live rules survive a reboot when the node uses iptables-persistent; says so plainly when not. */
export async function persist(opts: FirewallOptions): Promise<{ persisted: boolean; reason?: string }> {
  return serial(async () => {
    if (await netfilterPersistentSave(opts)) return { persisted: true };
    return {
      persisted: false,
      reason:
        'netfilter-persistent is not installed; rules last until reboot (apt install iptables-persistent to keep them)',
    };
  });
}

function describe(rule: PeerRule): string {
  const net = rule.prefix === (rule.family === 4 ? 32 : 128) ? '' : `/${rule.prefix}`;
  return `tcp ${rule.port} from ${rule.address}${net} (${rule.purpose})`;
}
