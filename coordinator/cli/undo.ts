import { Command } from 'commander';
import { undoCommand } from '../commands/undo.js';
import { PgduplexError } from '../../shared/errors.js';
import type { CommandContext } from './parse.js';

/** What `pgduplex undo` was asked: list the journals, or undo one entry (where, dry run, confirmed). */
export interface UndoArgs {
  id?: string;
  node?: string;
  dryRun: boolean;
  yes: boolean;
  json: boolean;
}

const usage = (message: string) => new PgduplexError('USAGE', message, { hint: 'see "pgduplex undo --help"' });

// Ids are the agents' random UUIDs; anything else is a typo, refused before any agent is asked.
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Checks the combination of `undo`'s argument and options; a mistake is a USAGE error naming it. */
export function undoArgs(
  id: string | undefined,
  o: { list?: boolean; node?: string; dryRun?: boolean; yes?: boolean; json?: boolean },
): UndoArgs {
  if (o.list && id !== undefined) throw usage('--list takes no entry id: give one or the other');
  if (id !== undefined && !ID.test(id))
    throw usage(`${JSON.stringify(id.slice(0, 64))} is not a journal entry id (pgduplex undo --list shows them)`);
  if (id === undefined && (o.dryRun || o.yes || o.node !== undefined))
    throw usage('--dry-run, --yes and --node go with an entry id: pgduplex undo ID …');
  if (o.dryRun && o.yes) throw usage('--dry-run changes nothing: it takes no --yes');
  return {
    ...(id === undefined ? {} : { id }),
    ...(o.node === undefined ? {} : { node: o.node }),
    dryRun: o.dryRun === true,
    yes: o.yes === true,
    json: o.json === true,
  };
}

/** `undo`: take back one journaled change (a repair's rows-take, a setting, a firewall rule) by its id. */
export function addUndoCommand(program: Command, { socket, setExit }: CommandContext): void {
  program
    .command('undo')
    .usage('[--list] | ID [--node NODE] [--dry-run | --yes]')
    .description(
      'take back one journaled change by its id, on the node that made it; without an id, list what can be undone',
    )
    .argument('[id]', 'the journal entry, as --list (or a command that made it) names it')
    .option('--list', 'list the entries of both nodes not undone yet (the default without an id)')
    .option('--node <node>', 'look for the entry on this node only (by its name)')
    .option('--dry-run', 'show what the undo would take back; change nothing')
    .option('--yes', 'do not ask for confirmation (needed when there is no terminal)')
    .option('--json', 'print machine-readable JSON')
    .action(async (id: string | undefined, o: Parameters<typeof undoArgs>[1]) =>
      setExit(await undoCommand({ socket: socket(), ...undoArgs(id, o) })),
    );
}
