import { Command } from 'commander';
import { PgduplexError } from '../../shared/errors.js';
import { pgUpgradeCommand } from '../commands/pg-upgrade.js';
import type { CommandContext } from './parse.js';

const usage = (message: string) => new PgduplexError('USAGE', message, { hint: 'see "pgduplex pg-upgrade --help"' });

/** Why: a major is a whole number the pair can run, checked before anything is read. */
export function parseMajor(text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n < 16 || n > 99)
    throw usage(`--to must be a PostgreSQL major of 16 or newer, such as 18 (got ${JSON.stringify(text ?? '')})`);
  return n;
}

/** `pg-upgrade`: this node's PostgreSQL to a newer major while the peer serves, the pair kept. */
export function addPgUpgradeCommand(program: Command, { socket, setExit }: CommandContext): void {
  program
    .command('pg-upgrade')
    .usage('--to N [--link] [--replace-empty] [--recreate-replication] [--dry-run] [--yes]  |  --finish')
    .description(
      "upgrade this node's PostgreSQL to major N (its packages installed first) while the peer serves; " +
        'both directions resume where they stopped, nothing is copied again',
    )
    .option('--to <major>', 'the PostgreSQL major to upgrade to, e.g. 18')
    .option('--link', 'hard links instead of a copy: fast, little disk, no way back once the new cluster started')
    .option('--replace-empty', 'drop the empty cluster that installing postgresql-N made (it is checked empty)')
    .option(
      '--recreate-replication',
      "re-create the pair's slot and subscription where they stopped instead of letting pg_upgrade carry them " +
        '(always so from 16)',
    )
    .option('--finish', 'remove the old cluster an earlier upgrade kept as the way back (after a backup)')
    .option('--database <name>', 'the replicated database', 'fusionpbx')
    .option('--dry-run', 'print the plan, change nothing')
    .option('--yes', 'do not ask for confirmation (needed when there is no terminal)')
    .option('--json', 'print machine-readable JSON')
    .action(
      async (o: {
        to?: string;
        link?: boolean;
        replaceEmpty?: boolean;
        recreateReplication?: boolean;
        finish?: boolean;
        database: string;
        dryRun?: boolean;
        yes?: boolean;
        json?: boolean;
      }) => {
        if (o.finish && (o.link || o.replaceEmpty || o.recreateReplication))
          throw usage('--finish takes no --link, --replace-empty or --recreate-replication');
        if (!o.finish && o.to === undefined) throw usage('name the major to upgrade to with --to, e.g. --to 18');
        setExit(
          await pgUpgradeCommand({
            socket: socket(),
            database: o.database,
            to: o.to === undefined ? undefined : parseMajor(o.to),
            finish: o.finish === true,
            link: o.link === true,
            replaceEmpty: o.replaceEmpty === true,
            recreate: o.recreateReplication === true,
            dryRun: o.dryRun === true,
            yes: o.yes === true,
            json: o.json === true,
          }),
        );
      },
    );
}
