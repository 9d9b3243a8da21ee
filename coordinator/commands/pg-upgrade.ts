import { jsonText } from '../render/safe-text.js';
import { askYesNo } from '../render/tasks.js';
import { commandSession } from './session.js';
import { finishUpgrade, pgUpgrade, upgraded } from '../upgrade/upgrade.js';
import { whoamiAction } from '../../shared/protocol/control.js';

/** `pgduplex pg-upgrade`: exit 0 when this node runs the new major and the pair verifies, or nothing was to do. */
export async function pgUpgradeCommand(o: {
  socket: string;
  database: string;
  to: number | undefined;
  finish: boolean;
  link: boolean;
  replaceEmpty: boolean;
  recreate: boolean;
  dryRun: boolean;
  yes: boolean;
  json: boolean;
}): Promise<number> {
  const { lines, report, flush, interactive, started, agents } = commandSession(o.socket, o.json);
  const base = {
    database: o.database,
    dryRun: o.dryRun,
    yes: o.yes,
    report,
    ...(interactive ? { confirm: askYesNo } : {}),
  };
  const seconds = () => Number(((Date.now() - started) / 1000).toFixed(1));
  if (o.finish) {
    // Which cluster is "old" is the agent's state; the major only scopes the facts it reads.
    const me = await agents.call('local', whoamiAction, {});
    const removed = await finishUpgrade(agents, { ...base, to: o.to ?? 99 }).finally(flush);
    if (o.json) process.stdout.write(`${jsonText({ node: me.node, dryRun: o.dryRun, removed, steps: lines }, 2)}\n`);
    return 0;
  }
  const result = await pgUpgrade(agents, {
    ...base,
    to: o.to ?? 0,
    link: o.link,
    replaceEmpty: o.replaceEmpty,
    recreate: o.recreate,
  }).finally(flush);
  const ok = upgraded(result);
  if (o.json) {
    process.stdout.write(`${jsonText({ dryRun: o.dryRun, ...result, steps: lines, ok, seconds: seconds() }, 2)}\n`);
    return o.dryRun || ok ? 0 : 1;
  }
  if (o.dryRun) process.stdout.write(`dry run: nothing was changed (${seconds()} s)\n`);
  else if (result.done) process.stdout.write(`nothing to do: this node runs PostgreSQL ${o.to} already\n`);
  else
    process.stdout.write(
      ok
        ? `upgraded to PostgreSQL ${o.to}; both directions stream and the pair verifies (${seconds()} s)\n`
        : `upgraded to PostgreSQL ${o.to}, but the databases DIFFER (see above)\n`,
    );
  return o.dryRun || ok ? 0 : 1;
}
