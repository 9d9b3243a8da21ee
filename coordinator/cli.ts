import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PgduplexError, toPgduplexError } from '../shared/errors.js';
import { VERSION } from '../shared/version.js';
import { DEFAULT_SOCKET } from './agent-client.js';
import { healthCommand } from './commands/health.js';
import { setupCommand } from './commands/setup.js';
import { teardownCommand } from './commands/teardown.js';
import { statusCommand } from './commands/status.js';
import { PAIR_SETTINGS, walKeepBytes } from './setup/steps.js';
import { verifyCommand } from './commands/verify.js';
import {
  pairAcceptCommand,
  pairConnectCommand,
  peersCommand,
  unpairCommand,
  whoamiCommand,
} from './commands/pairing.js';

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

  program
    .command('health')
    .description("show the local agent's view of this node: PostgreSQL readiness and system facts")
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      setExit(await healthCommand({ socket: program.opts<{ socket: string }>().socket, json: opts.json === true }));
    });

  const socket = (): string => program.opts<{ socket: string }>().socket;

  program
    .command('whoami')
    .description("print this node's name and fingerprint")
    .option('--json', 'print machine-readable JSON')
    .action(async (o: { json?: boolean }) => setExit(await whoamiCommand({ socket: socket(), json: o.json === true })));

  program
    .command('pair')
    .description('pair this node with the other one (once; no SSH, no shared password)')
    .argument('[address]', "the other node's address (with a token: pair with it)")
    .argument('[token]', '- : read the token "pgduplex pair --accept" printed on the other node from stdin')
    .option('--accept <address>', "open a 10-minute pairing window for the other node's address and print a token")
    .option(
      '--fingerprint <fp>',
      'with --accept: trust only the node with this fingerprint ("pgduplex whoami" there), without asking',
    )
    .option('--no-wait', 'with --accept: print the token and return without waiting for the other node')
    .addOption(new Option('--port <port>', "the other agent's port").argParser(parsePort))
    .option('--json', 'print machine-readable JSON')
    .action(
      async (
        address: string | undefined,
        token: string | undefined,
        o: { accept?: string; fingerprint?: string; wait: boolean; port?: number; json?: boolean },
      ) => {
        const json = o.json === true;
        if (o.accept !== undefined) {
          if (address !== undefined)
            throw usage('use either "pair --accept <address>" or "pair <address> -", not both');
          return setExit(
            await pairAcceptCommand({
              socket: socket(),
              address: o.accept,
              wait: o.wait,
              json,
              ...(o.fingerprint === undefined ? {} : { fingerprint: o.fingerprint }),
            }),
          );
        }
        if (o.fingerprint !== undefined)
          throw usage('--fingerprint goes with --accept, on the node that prints the token');
        if (address === undefined || token === undefined)
          throw usage(
            'pair needs "--accept <address>" on one node, or "<address> -" (the token on stdin) on the other',
          );
        // On argv the token shows in every process list (/proc/*/cmdline) until the pairing is done.
        if (token !== '-')
          throw usage(
            'the token does not go on the command line, where any local user can read it: give - and paste it on stdin',
          );
        const secret = await readStdinToken();
        setExit(
          await pairConnectCommand({
            socket: socket(),
            address,
            token: secret,
            ...(o.port === undefined ? {} : { port: o.port }),
            json,
          }),
        );
      },
    );

  program
    .command('peers')
    .description('show the paired peer, whether it answers, and the round trip of a call to it')
    .option('--json', 'print machine-readable JSON')
    .action(async (o: { json?: boolean }) => setExit(await peersCommand({ socket: socket(), json: o.json === true })));

  program
    .command('unpair')
    .description('remove the pairing on both nodes and close the firewall rules it opened')
    .option('--json', 'print machine-readable JSON')
    .action(async (o: { json?: boolean }) => setExit(await unpairCommand({ socket: socket(), json: o.json === true })));

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
    .option('--json', 'print machine-readable JSON')
    .action(
      async (o: {
        database: string;
        source: 'local' | 'peer';
        dryRun?: boolean;
        yes?: boolean;
        replacePeerData?: boolean;
        excludeTablesWithoutKey?: boolean;
        replicaIdentityFull?: boolean;
        fullVerify?: boolean;
        maxSlotWalKeepSize: string;
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
            keyless: o.excludeTablesWithoutKey
              ? 'exclude'
              : o.replicaIdentityFull
                ? 'replica-identity-full'
                : undefined,
            fullVerify: o.fullVerify === true,
            maxSlotWalKeepSize: o.maxSlotWalKeepSize,
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
    .option('--json', 'print machine-readable JSON')
    .action(async (o: { database: string; json?: boolean }) =>
      setExit(await verifyCommand({ socket: socket(), database: o.database, json: o.json === true })),
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

  return program;
}

function parseWhole(value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
  return n;
}

/** Reads the token from stdin, so it need not appear in the process list or shell history. */
async function readStdinToken(): Promise<string> {
  if (process.stdin.isTTY === true) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const line = (await rl.question('Paste the token "pgduplex pair --accept" printed: ')).trim();
      if (line === '') throw usage('no token given');
      return line;
    } finally {
      rl.close();
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (chunks.reduce((n, c) => n + c.length, 0) > 1024) break;
  }
  const token = Buffer.concat(chunks).toString('utf8').trim();
  if (token === '') throw usage('no token on stdin');
  return token;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('must be a port number between 1 and 65535');
  return n;
}

function parseWalKeep(value: string): string {
  if (walKeepBytes(value) === undefined)
    throw new InvalidArgumentError('must be a size in MB, GB or TB such as 512MB or 10GB, at least 16MB');
  return value;
}

function usage(message: string): PgduplexError {
  return new PgduplexError('USAGE', message, { hint: 'see "pgduplex pair --help"' });
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
    process.stderr.write(`pgduplex: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`);
    return e.code === 'USAGE' ? EXIT.usage : EXIT.failed;
  }
}
