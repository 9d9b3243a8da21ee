import { Command, CommanderError, Option } from 'commander';
import { toPgduplexError } from '../shared/errors.js';
import { VERSION } from '../shared/version.js';
import { DEFAULT_SOCKET } from './agent-client.js';
import { addNodeCommands } from './cli/node.js';
import { addReplicationCommands } from './cli/replication.js';
import { addMigrateCommand } from './cli/migrate.js';
import { addPgUpgradeCommand } from './cli/pg-upgrade.js';
import { addUndoCommand } from './cli/undo.js';
import { safeLine } from './render/safe-text.js';

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Builds the `pgduplex` program; each command returns its exit code instead of exiting itself. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('pgduplex')
    .description('Bi-directional PostgreSQL logical replication for a pair of FS PBX nodes')
    .version(VERSION, '-V, --version', 'print the version')
    .addOption(new Option('--socket <path>', "the local agent's unix socket").default(DEFAULT_SOCKET).hideHelp())
    .showHelpAfterError('(run "pgduplex --help" for usage)')
    .exitOverride();

  const context = { socket: (): string => program.opts<{ socket: string }>().socket, setExit };
  addNodeCommands(program, context);
  addReplicationCommands(program, context);
  addMigrateCommand(program, context);
  addPgUpgradeCommand(program, context);
  addUndoCommand(program, context);

  return program;
}

/** Runs the CLI; user errors print one line plus a hint, never a stack trace. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'node' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
        ? EXIT.ok
        : EXIT.usage;
    }
    const e = toPgduplexError(err);
    // An error may come from either agent: its text is shown, never acted on by the terminal.
    process.stderr.write(`pgduplex: ${safeLine(e.message)}\n${e.hint ? `  ${safeLine(e.hint)}\n` : ''}`);
    return e.code === 'USAGE' ? EXIT.usage : EXIT.failed;
  }
}
