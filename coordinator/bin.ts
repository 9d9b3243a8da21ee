import { runCli } from './cli.js';
import { safeLine } from './render/safe-text.js';

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `pgduplex: unexpected failure: ${safeLine(err instanceof Error ? err.message : String(err))}\n`,
    );
    process.exitCode = 1;
  },
);
