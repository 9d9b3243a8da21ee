import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../../agent/config/load.js';
import { agentConfigSchema } from '../../../agent/config/schema.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, textInput, typedOutcome } from '../../fuzz/mutate.js';

const FILE = '/etc/pgduplex/agent.json';

/** A valid agent.json: any subset of the keys, each with a value the schema accepts. */
const validConfig = fc.record(
  {
    listen: fc.record(
      { host: fc.constantFrom('::', '0.0.0.0', '10.231.7.11', 'fd00::1'), port: fc.integer({ min: 1, max: 65535 }) },
      { requiredKeys: [] },
    ),
    socket: fc.constantFrom('/run/pgduplex/agent.sock', '/tmp/a.sock'),
    stateDir: fc.constant('/var/lib/pgduplex'),
    nodeName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
    postgresql: fc.record({ version: fc.constantFrom('16', '17', '18'), cluster: fc.constantFrom('main', 'pbx_2') }),
    logLevel: fc.constantFrom('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    limits: fc.record(
      {
        maxBodyBytes: fc.integer({ min: 0, max: 1_048_576 }),
        maxFrameBytes: fc.integer({ min: 1024, max: 16_777_216 }),
        pairingMaxFailures: fc.integer({ min: 1, max: 100 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

/** A valid config damaged as an object: a value anywhere replaced by any JSON, or a key added, before it is written out. */
const damagedConfig = fc
  .tuple(
    validConfig,
    fc.nat(),
    fc.jsonValue({ maxDepth: 2 }),
    fc.oneof(
      fc.constantFrom(
        'listen',
        'port',
        'limits',
        '__proto__',
        'constructor',
        'toString',
        'logLevle',
        '',
        'a\nb',
        '\u001b[2J',
        '\r',
      ),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
  )
  .map(([cfg, pick, value, key]) => {
    const slots: Array<Record<string, unknown>> = [cfg];
    for (const v of Object.values(cfg))
      if (typeof v === 'object' && v !== null) slots.push(v as Record<string, unknown>);
    const target = slots[pick % slots.length]!;
    const keys = [...Object.keys(target), key];
    Object.defineProperty(target, keys[pick % keys.length]!, {
      value,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    return JSON.stringify(cfg, null, pick % 3);
  });

describe('parseAgentConfig under fuzzing', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('gives a config the schema holds to, or one CONFIG_INVALID line naming the file', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          textInput(validConfig.map((c) => JSON.stringify(c, null, 2))),
          damagedConfig,
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const r = typedOutcome(['CONFIG_INVALID'], () => parseAgentConfig(FILE, text));
          if (r.ok) {
            expect(agentConfigSchema.parse(r.value)).toEqual(r.value);
            return;
          }
          expect(r.error.message.startsWith(`${FILE}: `)).toBe(true);
          expect(r.error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
          expect(r.error.message.length).toBeLessThan(400);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
