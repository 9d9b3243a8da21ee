import { execa } from 'execa';
import { migrate, migrated, type MigrateOptions } from '../migrate/migrate.js';
import type { KeylessChoice } from '../migrate/converge.js';
import { jsonText, safeLine } from '../render/safe-text.js';
import { askYesNo } from '../render/tasks.js';
import { commandSession } from './session.js';

/**
 * Runs the operator's command here as the operator, its output passed through (to stderr under --json, so stdout
 * stays one JSON document); a command that cannot start answers 127 like a shell.
 */
export async function runOperatorCommand(argv: readonly string[], json: boolean): Promise<number> {
  const [file, ...args] = argv as [string, ...string[]];
  const r = await execa(file, args, {
    stdin: 'inherit',
    stdout: json ? process.stderr : 'inherit',
    stderr: 'inherit',
    reject: false,
  });
  if (r.failed && r.exitCode === undefined) {
    process.stderr.write(`pgduplex: ${safeLine(file)} could not be run: ${safeLine(r.shortMessage ?? 'error')}\n`);
    return 127;
  }
  return r.exitCode ?? 1;
}

/** `pgduplex migrate`: exit 0 when the command succeeded, both schemas are equal and the pair verifies. */
export async function migrateCommand(o: {
  socket: string;
  database: string;
  command?: string[];
  from?: string;
  dryRun: boolean;
  yes: boolean;
  keyless: KeylessChoice;
  json: boolean;
}): Promise<number> {
  const { lines, report, flush, interactive, started, agents } = commandSession(o.socket, o.json);
  const options: MigrateOptions = {
    database: o.database,
    ...(o.command ? { command: o.command } : {}),
    ...(o.from ? { from: o.from } : {}),
    dryRun: o.dryRun,
    yes: o.yes,
    keyless: o.keyless,
    report,
    ...(interactive ? { confirm: askYesNo } : {}),
    runCommand: (argv) => runOperatorCommand(argv, o.json),
  };
  const result = await migrate(agents, options).finally(flush);
  const seconds = Number(((Date.now() - started) / 1000).toFixed(1));
  const ok = migrated(result);
  if (o.json) {
    process.stdout.write(`${jsonText({ dryRun: o.dryRun, ...result, steps: lines, ok, seconds }, 2)}\n`);
    return o.dryRun || ok ? 0 : 1;
  }
  if (o.dryRun) {
    process.stdout.write(`dry run: nothing was changed (${seconds} s)\n`);
    return 0;
  }
  const carried =
    result.carried.length === 0 ? 'no schema change to carry' : `${result.carried.length} schema changes carried`;
  if (result.commandExit !== undefined && result.commandExit !== 0) {
    process.stdout.write(
      `the command FAILED (exit ${result.commandExit}); what it committed is on both nodes (${carried}):\n` +
        result.carried.map((c) => `  ${safeLine(c)}\n`).join('') +
        'fix the cause and re-run the same pgduplex migrate: the app runs what is left, pgduplex carries it\n',
    );
  } else if (result.refused.length > 0) {
    process.stdout.write(`${carried}; ${result.refused.length} differences NOT carried (above): they need you\n`);
  } else {
    process.stdout.write(
      `${carried}; ${ok ? 'both nodes agree' : 'the databases DIFFER (see above)'}; took ${seconds} s\n`,
    );
  }
  return ok ? 0 : 1;
}
