import { Command, Option } from 'commander';
import { migrateCommand } from '../commands/migrate.js';
import { PgduplexError } from '../../shared/errors.js';
import type { CommandContext } from './parse.js';

const usage = (message: string) => new PgduplexError('USAGE', message, { hint: 'see "pgduplex migrate --help"' });

/** `migrate`: an application upgrade's schema change, run on this node and carried to the peer. */
export function addMigrateCommand(program: Command, { socket, setExit }: CommandContext): void {
  program
    .command('migrate')
    .usage('[options] -- COMMAND [ARGS...]  |  --sync-schema [--from NODE]')
    .description(
      "run an app upgrade's database migration here (COMMAND, after --) and carry its schema change to the peer; " +
        'its rows follow by replication, once',
    )
    .argument('[command...]', 'the migration to run, after --, e.g. -- sudo -u www-data php artisan migrate --force')
    .option('--database <name>', 'the replicated database', 'fusionpbx')
    .option('--sync-schema', 'no command: carry the schema difference of an upgrade done outside pgduplex')
    .option('--from <node>', 'with --sync-schema: the node whose schema is right (found from the difference if unset)')
    .option('--dry-run', 'print the plan, change nothing')
    .option('--yes', 'do not ask for confirmation (needed when there is no terminal)')
    .addOption(
      new Option(
        '--replica-identity-full',
        'new tables without a key or unique index over NOT NULL columns replicate with REPLICA IDENTITY FULL',
      ),
    )
    .option('--json', "print machine-readable JSON (the command's own output goes to stderr)")
    .action(
      async (
        command: string[],
        o: {
          database: string;
          syncSchema?: boolean;
          from?: string;
          dryRun?: boolean;
          yes?: boolean;
          replicaIdentityFull?: boolean;
          json?: boolean;
        },
      ) => {
        if (o.syncSchema && command.length > 0) throw usage('--sync-schema takes no command');
        if (!o.syncSchema && command.length === 0)
          throw usage('name the migration to run after --, or pass --sync-schema');
        if (o.from !== undefined && !o.syncSchema) throw usage('--from goes with --sync-schema');
        setExit(
          await migrateCommand({
            socket: socket(),
            database: o.database,
            ...(command.length > 0 ? { command } : {}),
            ...(o.from ? { from: o.from } : {}),
            dryRun: o.dryRun === true,
            yes: o.yes === true,
            keyless: o.replicaIdentityFull ? 'replica-identity-full' : undefined,
            json: o.json === true,
          }),
        );
      },
    );
}
