import { Command, CommanderError } from 'commander';
import { toPgduplexError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';
import { VERSION } from '../shared/version.js';
import { startAgent } from './agent.js';
import { loadAgentConfig } from './config/load.js';
import { DEFAULT_CONFIG_PATH } from './config/schema.js';

/** EX_CONFIG from sysexits.h: the unit's RestartPreventExitStatus keeps a bad config from looping. */
export const EXIT_CONFIG = 78;
// Beyond the drain of a running action: closing listeners and flushing state.
const STOP_DEADLINE_MS = 1500;

/** The agent's process entry: argv, config, signals and exit codes. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('pgduplex-agent')
    .description('pgduplex node agent: local, typed actions and the health endpoint (run by systemd)')
    .version(VERSION, '-V, --version')
    .option('-c, --config <path>', 'agent config file', DEFAULT_CONFIG_PATH)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: 'node' });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
  const configPath = program.opts<{ config: string }>().config;
  const explicit = program.getOptionValueSource('config') === 'cli';

  let config;
  try {
    config = await loadAgentConfig(configPath, { mustExist: explicit });
  } catch (err) {
    const e = toPgduplexError(err);
    process.stderr.write(`pgduplex-agent: ${e.message}${e.hint ? ` — ${e.hint}` : ''}\n`);
    process.exit(EXIT_CONFIG);
  }

  const log = createLogger('pgduplex-agent', config.logLevel);
  let agent;
  try {
    agent = await startAgent(config, log);
  } catch (err) {
    const e = toPgduplexError(err);
    log.fatal({ code: e.code }, e.message);
    process.stderr.write(`pgduplex-agent: ${e.message}${e.hint ? ` — ${e.hint}` : ''}\n`);
    // A loose key file or a corrupt state file needs the operator, not a restart loop.
    process.exit(e.code === 'KEY_FILE_INSECURE' || e.code === 'CONFIG_INVALID' ? EXIT_CONFIG : 1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      log.warn('shutdown deadline passed; exiting');
      process.exit(0);
    }, config.limits.stopDrainMs + STOP_DEADLINE_MS);
    force.unref();
    agent.stop().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
