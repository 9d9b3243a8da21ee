// Bundled by the lab test and run inside a node: one firewall call per run, JSON in (argv[2]), JSON out.
import { allowPeerPort, listPeerRules, persist, revokePeerPort } from '../../../agent/firewall/firewall.js';
import { toPgduplexError } from '../../../shared/errors.js';

const {
  op,
  rule,
  timeoutMs = 10_000,
} = JSON.parse(process.argv[2] ?? '{}') as {
  op: 'allow' | 'revoke' | 'list' | 'persist';
  rule?: { address: string; port: number; purpose: string };
  timeoutMs?: number;
};
const opts = { timeoutMs };

try {
  const result =
    op === 'allow'
      ? await allowPeerPort(rule!, opts)
      : op === 'revoke'
        ? await revokePeerPort(rule!, opts)
        : op === 'list'
          ? await listPeerRules(opts)
          : op === 'persist'
            ? await persist(opts)
            : undefined;
  if (result === undefined) throw new Error(`unknown op ${String(op)}`);
  process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: toPgduplexError(err).toJSON() })}\n`);
  process.exitCode = 1;
}
