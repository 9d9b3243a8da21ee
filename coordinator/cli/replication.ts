import { Command, Option } from 'commander';
import { setupCommand } from '../commands/setup.js';
import { statusCommand } from '../commands/status.js';
import { teardownCommand } from '../commands/teardown.js';
import { watchCommand } from '../commands/watch.js';
import { checkVerifyOptions, verifyCommand, verifyTableCommand } from '../commands/verify.js';
import { PAIR_SETTINGS } from '../setup/steps.js';
import { parseIdleSlotTimeout, parseWalKeep, parseWhole, type CommandContext } from './parse.js';

/** `setup`, `teardown`, `verify`, `status`: replication of the pair's database, from either node. */
export function addReplicationCommands(program: Command, { socket, setExit }: CommandContext): void {
  program
    .command('setup')
    .description('set up bi-directional logical replication between this node and its peer, then verify')
    .option('--database <name>', 'the database to replicate', 'fusionpbx')
    .addOption(
      new Option('--source <side>', 'whose data is kept: this node (local) or the peer')
        .choices(['local', 'peer'])
        .default('local'),
    )
    .option(
      '--dry-run',
      "show the plan: each step's check answer now, or predicted when it waits on an earlier step; change nothing",
    )
    .option('--yes', "confirm replacing the peer's schema when it holds tables (a backup is taken first)")
    .option('--replace-peer-data', 'with --yes: also when those tables hold rows')
    .addOption(
      new Option(
        '--adopt',
        "take over the replication FS PBX's setup_logical_replication.sh made, without copying the data again",
      ).conflicts('replacePeerData'),
    )
    .addOption(
      new Option(
        '--exclude-tables-without-key',
        'leave tables without a primary key or replica identity out of replication (they drift apart)',
      ).conflicts('replicaIdentityFull'),
    )
    .option(
      '--full-verify',
      'compare every row at the end even when nothing changed (a run that changes nothing checks schema, sequences ' +
        'and streaming only)',
    )
    .option(
      '--replica-identity-full',
      'give tables without a primary key REPLICA IDENTITY FULL so they replicate (slower UPDATE/DELETE on big tables)',
    )
    .addOption(
      new Option(
        '--max-slot-wal-keep-size <size>',
        'most WAL each node keeps for a peer that is away (e.g. 512MB, 10GB); a peer away longer must be copied again',
      )
        .default(PAIR_SETTINGS.max_slot_wal_keep_size)
        .argParser(parseWalKeep),
    )
    .addOption(
      new Option(
        '--idle-slot-timeout <time>',
        'PostgreSQL 18+: drop a slot its peer has not read for this long (e.g. 2d); off unless given, and ' +
          'suspended on the serving node during pg-upgrade',
      ).argParser(parseIdleSlotTimeout),
    )
    .option('--json', 'print machine-readable JSON')
    .action(
      async (o: {
        database: string;
        source: 'local' | 'peer';
        dryRun?: boolean;
        yes?: boolean;
        replacePeerData?: boolean;
        adopt?: boolean;
        excludeTablesWithoutKey?: boolean;
        replicaIdentityFull?: boolean;
        fullVerify?: boolean;
        maxSlotWalKeepSize: string;
        idleSlotTimeout?: string;
        json?: boolean;
      }) => {
        setExit(
          await setupCommand({
            socket: socket(),
            database: o.database,
            source: o.source,
            dryRun: o.dryRun === true,
            yes: o.yes === true,
            replacePeerData: o.replacePeerData === true,
            adopt: o.adopt === true,
            keyless: o.excludeTablesWithoutKey
              ? 'exclude'
              : o.replicaIdentityFull
                ? 'replica-identity-full'
                : undefined,
            fullVerify: o.fullVerify === true,
            maxSlotWalKeepSize: o.maxSlotWalKeepSize,
            ...(o.idleSlotTimeout ? { idleSlotTimeout: o.idleSlotTimeout } : {}),
            json: o.json === true,
          }),
        );
      },
    );

  program
    .command('teardown')
    .description('undo setup on both nodes (replication objects, access, settings); table data and the pairing stay')
    .option('--database <name>', 'the replicated database', 'fusionpbx')
    .option('--dry-run', 'print the plan per node, change nothing')
    .option('--yes', 'do not ask for confirmation (needed when there is no terminal)')
    .option('--json', 'print machine-readable JSON')
    .action(async (o: { database: string; dryRun?: boolean; yes?: boolean; json?: boolean }) =>
      setExit(
        await teardownCommand({
          socket: socket(),
          database: o.database,
          dryRun: o.dryRun === true,
          yes: o.yes === true,
          json: o.json === true,
        }),
      ),
    );

  program
    .command('verify')
    .description('compare row counts and checksums of every replicated table on both nodes (exit 1 on a difference)')
    .option('--database <name>', 'the replicated database', 'fusionpbx')
    .option('--table <name>', 'compare one table slice by slice by primary key and list the keys that differ')
    .option('--repair', "with --table and --keep: make the other node take NODE's version of the differing rows")
    .option('--keep <node>', 'with --repair: the node whose rows are kept (its name)')
    .option('--dry-run', 'with --repair: list the rows and what would change; change nothing')
    .option('--yes', 'with --repair: do not ask for confirmation (needed when there is no terminal)')
    .addOption(
      new Option('--slice-rows <n>', 'with --table: rows per slice (one short transaction each)')
        .default(1000)
        .argParser((v) => parseWhole(v, 1, 10_000)),
    )
    .option('--json', 'print machine-readable JSON')
    .action(
      async (o: {
        database: string;
        table?: string;
        repair?: boolean;
        keep?: string;
        dryRun?: boolean;
        yes?: boolean;
        sliceRows: number;
        json?: boolean;
      }) => {
        checkVerifyOptions(o);
        const common = { socket: socket(), database: o.database, json: o.json === true };
        setExit(
          o.table === undefined
            ? await verifyCommand(common)
            : await verifyTableCommand({
                ...common,
                table: o.table,
                sliceRows: o.sliceRows,
                ...(o.repair && o.keep
                  ? { repair: { keep: o.keep, dryRun: o.dryRun === true, yes: o.yes === true } }
                  : {}),
              }),
        );
      },
    );

  program
    .command('watch')
    .description(
      'one round of the divergence watch: compare the next primary-key slices of the tables, keep the results ' +
        '(pgduplex-watch.timer runs it)',
    )
    .option('--database <name>', 'the replicated database', 'fusionpbx')
    .addOption(
      new Option('--max-seconds <n>', 'longest a round walks').default(60).argParser((v) => parseWhole(v, 1, 3600)),
    )
    .addOption(
      new Option('--slice-rows <n>', 'rows per slice (one short transaction each)')
        .default(1000)
        .argParser((v) => parseWhole(v, 1, 10_000)),
    )
    .addOption(
      new Option('--pause-ms <n>', 'least pause between slices (a slice that took longer is followed by as long)')
        .default(100)
        .argParser((v) => parseWhole(v, 0, 60_000)),
    )
    .addOption(
      new Option('--min-interval <seconds>', 'do nothing when the last round (from either node) ran more recently')
        .default(300)
        .argParser((v) => parseWhole(v, 0, 86_400)),
    )
    .option('--json', 'print machine-readable JSON')
    .action(
      async (o: {
        database: string;
        maxSeconds: number;
        sliceRows: number;
        pauseMs: number;
        minInterval: number;
        json?: boolean;
      }) =>
        setExit(
          await watchCommand({
            socket: socket(),
            database: o.database,
            json: o.json === true,
            limits: {
              maxSeconds: o.maxSeconds,
              sliceRows: o.sliceRows,
              pauseMs: o.pauseMs,
              minIntervalSeconds: o.minInterval,
              maxKeys: 1000,
              drainMs: 120_000,
            },
          }),
        ),
    );

  program
    .command('status')
    .description('replication health of both directions; exit 0 healthy, 3 degraded, 4 broken')
    .option('--database <name>', 'the replicated database', 'fusionpbx')
    .option('--watch', 'refresh until Ctrl-C')
    .addOption(
      new Option('--interval <seconds>', 'with --watch: seconds between refreshes')
        .default(2)
        .argParser((v) => parseWhole(v, 1, 3600)),
    )
    .addOption(
      new Option('--max-lag-bytes <n>', 'lag above this many bytes is degraded')
        .default(64 * 1024 * 1024)
        .argParser((v) => parseWhole(v, 0, Number.MAX_SAFE_INTEGER)),
    )
    .addOption(
      new Option('--max-lag-seconds <n>', 'lag above this many seconds is degraded')
        .default(300)
        .argParser((v) => parseWhole(v, 0, 31_536_000)),
    )
    .option('--json', 'print machine-readable JSON (with --watch: one line per refresh)')
    .action(
      async (o: {
        database: string;
        watch?: boolean;
        interval: number;
        maxLagBytes: number;
        maxLagSeconds: number;
        json?: boolean;
      }) => {
        setExit(
          await statusCommand({
            socket: socket(),
            database: o.database,
            watch: o.watch === true,
            intervalSeconds: o.interval,
            maxLagBytes: o.maxLagBytes,
            maxLagSeconds: o.maxLagSeconds,
            json: o.json === true,
          }),
        );
      },
    );
}
