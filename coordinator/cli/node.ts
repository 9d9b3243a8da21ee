import { Command, Option } from 'commander';
import { healthCommand } from '../commands/health.js';
import {
  pairAcceptCommand,
  pairConnectCommand,
  peersCommand,
  unpairCommand,
  whoamiCommand,
} from '../commands/pairing.js';
import { parsePort, readStdinToken, usage, type CommandContext } from './parse.js';

/** `health`, `whoami`, `pair`, `peers`, `unpair`: this node, and the pairing with the other one. */
export function addNodeCommands(program: Command, { socket, setExit }: CommandContext): void {
  program
    .command('health')
    .description("show the local agent's view of this node: PostgreSQL readiness and system facts")
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      setExit(await healthCommand({ socket: socket(), json: opts.json === true }));
    });

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
}
