import { PgduplexError } from '../../shared/errors.js';
import { describeValue, parseHostAddress, readSourceNetwork, type Family } from './address.js';

export { describeValue, type Family } from './address.js';

/** The chain the agent owns in the filter table of both iptables and ip6tables; nothing else is ours. */
export const CHAIN = 'PGDUPLEX';

/** Every rule comment starts with this, so a human reading `iptables -S` knows who added it. */
export const COMMENT_PREFIX = 'pgduplex ';

/** What a caller asks for: TCP to one local port from one peer host, labelled with a purpose. */
export interface PeerPort {
  address: string;
  port: number;
  purpose: string;
}

/** A validated PeerPort: canonical address text, its prefix (a single host but for monitoring) and the family. */
export interface PeerRule extends PeerPort {
  family: Family;
  prefix: number;
}

/** The purpose of the rules that open the agent port for agent.json's monitoringHosts. */
export const MONITORING_PURPOSE = 'monitoring';

/** An argv for iptables/ip6tables (the binary itself excluded), built only from validated values. */
export type Argv = readonly string[];

const PURPOSE = /^[a-z][a-z0-9-]{0,31}$/;

/** Validates everything up front, so no unchecked value ever reaches an iptables argv. */
export function peerRule(input: unknown): PeerRule {
  if (typeof input !== 'object' || input === null) {
    throw new PgduplexError('BAD_PARAMS', 'a peer rule needs { address, port, purpose }');
  }
  const { address, port, purpose } = input as Record<string, unknown>;
  const host = parseHostAddress(address);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PgduplexError('BAD_PARAMS', `port ${describeValue(port)} is not a TCP port (1..65535)`);
  }
  if (typeof purpose !== 'string' || !PURPOSE.test(purpose)) {
    throw new PgduplexError('BAD_PARAMS', `purpose ${describeValue(purpose)} is not a valid rule label`, {
      hint: 'use a lowercase word such as "agent" or "postgresql" (a-z, 0-9, -; at most 32 characters)',
    });
  }
  return { address: host.address, family: host.family, prefix: host.family === 4 ? 32 : 128, port, purpose };
}

/** A monitoring host's rule: the one kind that may name a network (agent.json's monitoringHosts, never a peer). */
export function monitoringRule(input: { source: unknown; port: unknown }): PeerRule {
  const source = readSourceNetwork(input.source);
  if (typeof source === 'string')
    throw new PgduplexError('BAD_PARAMS', `monitoring source ${describeValue(input.source)} ${source}`);
  const rule = peerRule({ address: source.address, port: input.port, purpose: MONITORING_PURPOSE });
  return { ...rule, prefix: source.prefix };
}

/** The match-and-target part of a rule, in the exact token order iptables-save prints it back. */
export function ruleSpec(rule: PeerRule): Argv {
  return [
    '-s',
    `${rule.address}/${rule.prefix}`,
    '-p',
    'tcp',
    '-m',
    'tcp',
    '--dport',
    String(rule.port),
    '-m',
    'comment',
    '--comment',
    `${COMMENT_PREFIX}${rule.purpose}`,
    '-j',
    'ACCEPT',
  ];
}

/** The one rule in INPUT that sends traffic through our chain. */
export const JUMP_SPEC: Argv = ['-j', CHAIN];

const filter = (...args: string[]): Argv => ['-w', '-t', 'filter', ...args];

/** `-C`: exit 0 when the rule is there (the idempotency check before every -A). */
export function checkRuleArgv(rule: PeerRule): Argv {
  return filter('-C', CHAIN, ...ruleSpec(rule));
}

/** Appends the peer rule to our chain. */
export function appendRuleArgv(rule: PeerRule): Argv {
  return filter('-A', CHAIN, ...ruleSpec(rule));
}

/** Deletes one copy of the peer rule (by spec, never by position). */
export function deleteRuleArgv(rule: PeerRule): Argv {
  return filter('-D', CHAIN, ...ruleSpec(rule));
}

/** Checks for the INPUT jump. */
export function checkJumpArgv(): Argv {
  return filter('-C', 'INPUT', ...JUMP_SPEC);
}

/** Inserts the INPUT jump at position 1, ahead of any DROP/REJECT and of FS PBX's own rules. */
export function insertJumpArgv(): Argv {
  return filter('-I', 'INPUT', '1', ...JUMP_SPEC);
}

/** Deletes one INPUT jump (by spec). */
export function deleteJumpArgv(): Argv {
  return filter('-D', 'INPUT', ...JUMP_SPEC);
}

/** Creates our (empty) chain. */
export function newChainArgv(): Argv {
  return filter('-N', CHAIN);
}

/** Deletes our chain; the kernel refuses while it has rules or a jump points at it. */
export function deleteChainArgv(): Argv {
  return filter('-X', CHAIN);
}

/** Arguments for iptables-save/ip6tables-save: the filter table only (these tools take no -w). */
export function saveArgv(): Argv {
  return ['-t', 'filter'];
}
