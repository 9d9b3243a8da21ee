import { PgduplexError } from '../../shared/errors.js';
import { foreignAccessChange } from '../../shared/protocol/adopt.js';
import { canonical } from '../../shared/protocol/peer-policy.js';
import { parseHostAddress } from '../firewall/address.js';
import { persist } from '../firewall/firewall.js';
import { foreignPortRules } from '../firewall/foreign-rules.js';
import { iptables, ruleExists, saveFilter } from '../firewall/iptables.js';
import { tokenizeSaveLine } from '../firewall/save.js';
import { containedPath } from '../files/contained.js';
import { snapshotFile, writeFileAtomic } from '../files/owned-file.js';
import { resolveCluster, type Cluster } from '../postgres/cluster.js';
import { fspbxHbaBlocks } from '../postgres/hba-foreign.js';
import { hbaErrors, hbaFileRules, hbaServerState, reloadAndWait } from '../postgres/hba-rules.js';
import { plannedChange } from './change.js';
import type { AgentServices } from './context.js';

type Rule = { family: 4 | 6; rule: string };

/** `-A INPUT …` as iptables-save prints it, as the argv of the same rule appended, deleted or checked. */
const argv = (rule: string, verb: '-A' | '-D' | '-C') => [verb, ...tokenizeSaveLine(rule).slice(1)];

/**
 * `foreign-access`: takes out FS PBX's script's pg_hba.conf block for the peer (header to footer, and the blank line
 * it leaves after) and its INPUT rules for the PostgreSQL port from the peer. PostgreSQL judges the new file before
 * it is loaded; a rejected one is put back. Undo re-inserts the block where it was and appends the rules again.
 */
export const foreignAccessAction = (s: AgentServices) => {
  const opts = { timeoutMs: s.limits.toolTimeoutMs };
  const hbaFile = async () => {
    const cluster = await resolveCluster(s.postgresql);
    const file = (await hbaServerState(cluster, opts)).hbaFile;
    return { cluster, path: await containedPath(file, [cluster.configDir, cluster.dataDir], 'hba_file') };
  };
  const write = async (cluster: Cluster, text: string, snap: Awaited<ReturnType<typeof snapshotFile>>) => {
    await writeFileAtomic(snap.path, text, { uid: snap.uid ?? 0, gid: snap.gid ?? 0, mode: snap.mode ?? 0o640 });
    const errors = hbaErrors(await hbaFileRules(cluster, opts));
    if (errors.length > 0) {
      await writeFileAtomic(snap.path, snap.content ?? '', {
        uid: snap.uid ?? 0,
        gid: snap.gid ?? 0,
        mode: snap.mode ?? 0o640,
      });
      throw new PgduplexError('PG_HBA_INVALID', `PostgreSQL rejected the new ${snap.path}: ${errors.join('; ')}`, {
        hint: 'the previous file was put back; nothing was changed',
      });
    }
    await reloadAndWait(cluster, opts);
  };
  return plannedChange(foreignAccessChange, {
    async plan({ peer, port }) {
      const { cluster, path } = await hbaFile();
      const snap = await snapshotFile(path);
      const text = snap.content ?? '';
      const lines = text.split('\n');
      const block = fspbxHbaBlocks(text, path).find((b) => canonical(b.peer) === canonical(peer));
      if (block && block.end === null)
        throw new PgduplexError('PG_HBA_INVALID', `${path}: the script's block for ${peer} has no footer line`, {
          hint: `nothing was changed; end it with "# <<< fspbx logical replication (${peer}) <<<" or remove it by hand`,
        });
      const host = parseHostAddress(peer);
      const rules: Rule[] = foreignPortRules(await saveFilter(host.family, opts), host, port).map((r) => ({
        family: r.family,
        rule: r.rule,
      }));
      const end = block ? block.end! + (lines[block.end!]?.trim() === '' && block.end! < lines.length - 1 ? 1 : 0) : 0;
      const hba = block ? { path, at: block.begin, lines: lines.slice(block.begin - 1, end) } : undefined;
      const changes = [
        ...(block ? [`${path}: remove the script's block for ${peer} (lines ${block.begin}-${block.end})`] : []),
        ...rules.map((r) => `${r.family === 4 ? 'iptables' : 'ip6tables'}: remove the script's rule ${r.rule}`),
      ];
      const next = hba ? [...lines.slice(0, hba.at - 1), ...lines.slice(end)].join('\n') : text;
      return {
        changes,
        record: { peer, port, ...(hba ? { hba } : {}), rules },
        state: { cluster, snap, next, hba, rules },
      };
    },
    async make({ state: { cluster, snap, next, hba, rules } }) {
      if (hba) await write(cluster, next, snap);
      for (const r of rules) await iptables(r.family, argv(r.rule, '-D'), opts);
      const saved = rules.length > 0 ? await persist(opts) : { persisted: true };
      return saved.reason ? { notes: [saved.reason] } : {};
    },
    async undo(r) {
      const out: string[] = [];
      if (r.hba) {
        const { cluster } = await hbaFile();
        const snap = await snapshotFile(r.hba.path);
        const text = snap.content ?? '';
        if (!fspbxHbaBlocks(text, r.hba.path).some((b) => canonical(b.peer) === canonical(r.peer))) {
          const lines = text.split('\n');
          const at = Math.min(r.hba.at - 1, lines.length);
          await write(cluster, [...lines.slice(0, at), ...r.hba.lines, ...lines.slice(at)].join('\n'), snap);
          out.push(`put the script's block for ${r.peer} back into ${r.hba.path} at line ${at + 1}`);
        }
      }
      for (const rule of r.rules) {
        if (await ruleExists(rule.family, argv(rule.rule, '-C'), opts)) continue;
        await iptables(rule.family, argv(rule.rule, '-A'), opts);
        out.push(`appended the script's rule again: ${rule.rule}`);
      }
      if (r.rules.length > 0) await persist(opts);
      return out;
    },
  });
};
