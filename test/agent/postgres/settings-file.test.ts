import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pgSettingsChange } from '../../../shared/protocol/postgres.js';

const pgSettingsParams = pgSettingsChange.params;
import { OWNED_HEADER } from '../../../agent/files/owned-file.js';
import { parseConf } from '../../../agent/postgres/conf-parse.js';
import {
  BLOCK_BEGIN,
  BLOCK_END,
  baseValue,
  blockRange,
  changedNames,
  findOverrides,
  locateTarget,
  orderSettings,
  ourFileErrors,
  readOwned,
  renderDropin,
  renderSettingLines,
  withBlock,
  type FileRow,
} from '../../../agent/postgres/settings-file.js';
import { SETTING_SPECS, type ServerSetting } from '../../../shared/protocol/settings-spec.js';

const DIR = '/etc/postgresql/17/main';
const DEBIAN_CONF = [
  "#listen_addresses = 'localhost'",
  "listen_addresses = '*'",
  "include_dir = 'conf.d'\t\t\t# include files ending in '.conf' from",
  "#include_if_exists = ''",
  '',
].join('\n');
const dropin = locateTarget(DIR, DEBIAN_CONF);
const block = locateTarget(DIR, "listen_addresses = '*'\nport = 5432\n");
const file = (over: Partial<FileRow>): FileRow => ({
  sourcefile: `${DIR}/postgresql.conf`,
  sourceline: 1,
  seqno: 1,
  name: 'wal_level',
  setting: 'replica',
  applied: true,
  error: null,
  ...over,
});

describe('where the settings go', () => {
  it('uses conf.d/50-pgduplex.conf when postgresql.conf has include_dir, else a block in postgresql.conf', () => {
    expect(dropin).toEqual({
      mode: 'dropin',
      path: `${DIR}/conf.d/50-pgduplex.conf`,
      confPath: `${DIR}/postgresql.conf`,
      dir: `${DIR}/conf.d`,
      includeLine: 3,
    });
    expect(block).toEqual({
      mode: 'block',
      path: `${DIR}/postgresql.conf`,
      confPath: `${DIR}/postgresql.conf`,
      includeLine: 0,
    });
  });

  it('renders the drop-in header first, in allowlist order, every value quoted', () => {
    const text = renderDropin(
      orderSettings(
        new Map([
          ['max_slot_wal_keep_size', '10GB'],
          ['wal_level', 'logical'],
        ]),
      ),
    );
    expect(text).toBe(`${OWNED_HEADER}\nwal_level = 'logical'\nmax_slot_wal_keep_size = '10GB'\n`);
    expect(renderDropin([])).toBeNull();
  });

  it('refuses to render a value that slipped past validation', () => {
    expect(() => renderSettingLines([['wal_level', "logical'\nshared_preload_libraries = 'evil"]])).toThrow(
      /unvalidated/,
    );
    expect(() => renderSettingLines([['shared_preload_libraries', 'x']])).toThrow(/unvalidated/);
  });

  it('appends, replaces and removes the marked block, leaving the rest byte for byte', () => {
    const conf = "listen_addresses = '*'\nport = 5432"; // no final newline
    const once = withBlock(conf, [['wal_level', 'logical']]);
    expect(once).toBe(`${conf}\n${BLOCK_BEGIN}\n${OWNED_HEADER}\nwal_level = 'logical'\n${BLOCK_END}\n`);
    const twice = withBlock(`${once}# after\n`, [
      ['wal_level', 'replica'],
      ['max_wal_senders', '10'],
    ]);
    expect(twice).toBe(
      `${conf}\n${BLOCK_BEGIN}\n${OWNED_HEADER}\nwal_level = 'replica'\nmax_wal_senders = '10'\n${BLOCK_END}\n# after\n`,
    );
    expect(withBlock(`${once}# after\n`, [])).toBe(`${conf}\n# after\n`);
    expect(readOwned(block, twice).settings).toEqual(
      new Map([
        ['wal_level', 'replica'],
        ['max_wal_senders', '10'],
      ]),
    );
    expect(readOwned(block, twice).range).toEqual({ start: 3, end: 7 });
  });

  it('names the allowlisted settings two versions of a file disagree on', () => {
    expect(changedNames(null, "wal_level = 'logical'\nport = 5433\n")).toEqual(['wal_level']);
    expect(
      changedNames("wal_level = 'logical'\nmax_wal_senders = 10", 'wal_level = logical\nmax_wal_senders = 20'),
    ).toEqual(['max_wal_senders']);
    expect(changedNames(null, null)).toEqual([]);
  });

  it('refuses a damaged block instead of guessing', () => {
    expect(() => blockRange(`${BLOCK_BEGIN}\nwal_level = 'logical'\n`)).toThrow(/damaged pgduplex block/);
    expect(() => blockRange(`${BLOCK_END}\n${BLOCK_BEGIN}\n`)).toThrow(/damaged/);
  });
});

describe('what the configuration gives without pgduplex', () => {
  const row = { bootVal: 'localhost' } as ServerSetting;
  it("leaves out the drop-in, so what pgduplex set earlier is not taken for the operator's value", () => {
    const rows = [
      file({ name: 'listen_addresses', setting: 'localhost,10.0.0.1', sourcefile: dropin.path, seqno: 30 }),
    ];
    expect(baseValue(rows, dropin, undefined, 'listen_addresses', row)).toBe('localhost');
    const both = [file({ name: 'listen_addresses', setting: '*', seqno: 2 }), ...rows];
    expect(baseValue(both, dropin, undefined, 'listen_addresses', row)).toBe('*');
  });
  it('leaves out only the lines of the block in block mode', () => {
    const rows = [
      file({ name: 'listen_addresses', setting: '*', sourceline: 1 }),
      file({ name: 'listen_addresses', setting: 'localhost,10.0.0.1', sourceline: 5 }),
    ];
    expect(baseValue(rows, block, { start: 3, end: 6 }, 'listen_addresses', row)).toBe('*');
    expect(baseValue(rows.slice(1), block, { start: 3, end: 6 }, 'listen_addresses', row)).toBe('localhost');
  });
});

describe('settings that win over ours', () => {
  const auto = file({
    sourcefile: '/var/lib/postgresql/17/main/postgresql.auto.conf',
    sourceline: 3,
    seqno: 9,
    setting: 'replica',
  });

  it('finds ALTER SYSTEM, later conf.d files and lines after include_dir before our file exists', () => {
    const rows = [
      file({ sourceline: 2, seqno: 1, name: 'listen_addresses', setting: '*' }),
      file({ sourceline: 9, seqno: 2, name: 'max_wal_senders', setting: '5' }),
      file({ sourcefile: `${DIR}/conf.d/10-early.conf`, seqno: 3, name: 'max_replication_slots', setting: '4' }),
      file({ sourcefile: `${DIR}/conf.d/99-local.conf`, seqno: 4, name: 'max_replication_slots', setting: '8' }),
      auto,
    ];
    const found = findOverrides(
      rows,
      dropin,
      undefined,
      ['wal_level', 'listen_addresses', 'max_wal_senders', 'max_replication_slots'],
      0,
    );
    expect(found).toEqual([
      { name: 'wal_level', value: 'replica', where: 'postgresql.auto.conf (ALTER SYSTEM)', alterSystem: true },
      { name: 'max_wal_senders', value: '5', where: `${DIR}/postgresql.conf line 9`, alterSystem: false },
      { name: 'max_replication_slots', value: '8', where: `${DIR}/conf.d/99-local.conf line 1`, alterSystem: false },
    ]);
  });

  it('uses the server order once our file is read, and counts a pending-restart row as an assignment', () => {
    const ours = file({
      sourcefile: dropin.path,
      sourceline: 2,
      seqno: 5,
      setting: 'logical',
      error: 'setting could not be applied',
    });
    expect(findOverrides([file({ seqno: 1 }), ours], dropin, { start: 1, end: 3 }, ['wal_level'], 0)).toEqual([]);
    expect(
      findOverrides(
        [ours, { ...auto, error: 'setting could not be applied' }],
        dropin,
        { start: 1, end: 3 },
        ['wal_level'],
        0,
      ),
    ).toHaveLength(1);
  });

  it('treats lines after our block as overrides in block mode', () => {
    const rows = [file({ sourceline: 2, seqno: 1 }), file({ sourceline: 12, seqno: 2 })];
    expect(findOverrides(rows, block, { start: 5, end: 8 }, ['wal_level'], 12).map((o) => o.where)).toEqual([
      `${DIR}/postgresql.conf line 12`,
    ]);
    expect(findOverrides(rows.slice(0, 1), block, undefined, ['wal_level'], 12)).toEqual([]);
  });
});

describe('errors PostgreSQL reports for our file', () => {
  const server = new Map<string, ServerSetting>([
    [
      'wal_level',
      {
        name: 'wal_level',
        setting: 'replica',
        display: 'replica',
        unit: null,
        vartype: 'enum',
        context: 'postmaster',
        minVal: null,
        maxVal: null,
        enumvals: null,
        bootVal: 'replica',
        pendingRestart: true,
      },
    ],
    [
      'wal_sender_timeout',
      {
        name: 'wal_sender_timeout',
        setting: '60000',
        display: '1min',
        unit: 'ms',
        vartype: 'integer',
        context: 'sighup',
        minVal: '0',
        maxVal: '2147483647',
        enumvals: null,
        bootVal: '60000',
        pendingRestart: false,
      },
    ],
  ]);

  it('ignores "could not be applied" on a restart-only setting (that is pending_restart), reports everything else', () => {
    const rows = [
      file({
        sourcefile: dropin.path,
        sourceline: 2,
        name: 'wal_level',
        setting: 'logical',
        error: 'setting could not be applied',
      }),
      file({
        sourcefile: dropin.path,
        sourceline: 3,
        name: 'wal_sender_timeout',
        setting: '5',
        error: 'setting could not be applied',
      }),
      file({ sourcefile: dropin.path, sourceline: 4, name: null, setting: null, error: 'syntax error' }),
      file({ sourcefile: `${DIR}/conf.d/99-other.conf`, name: null, setting: null, error: 'syntax error' }),
    ];
    expect(ourFileErrors(rows, dropin, undefined, server)).toEqual([
      `${dropin.path} line 3: setting could not be applied (wal_sender_timeout = '5')`,
      `${dropin.path} line 4: syntax error`,
    ]);
  });
});

describe('nothing unvalidated reaches the file (fuzz)', () => {
  const names = fc.constantFrom(...SETTING_SPECS.keys(), '__proto__', 'shared_preload_libraries', 'wal_level\n');
  const nasty = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc
      .tuple(
        fc.constantFrom('logical', '10', '10GB', 'on', '*', '5min', 'localhost'),
        fc.constantFrom(
          "'",
          '\n',
          '\r',
          '#',
          '\\',
          ' ',
          '\0',
          '%eth0',
          '/8',
          ',',
          "' shared_preload_libraries = '",
          '',
        ),
        fc.boolean(),
      )
      .map(([v, bad, front]) => (front ? bad + v : v + bad)),
  );

  it('params either fail validation or render to lines that parse back to exactly the validated values', () => {
    fc.assert(
      fc.property(fc.dictionary(names, nasty, { minKeys: 1, maxKeys: 6 }), (raw) => {
        const parsed = pgSettingsParams.safeParse({ settings: raw });
        if (!parsed.success) return;
        const settings = parsed.data.settings;
        const text = renderDropin(orderSettings(settings)) ?? '';
        const lines = text.split('\n');
        expect(lines[0]).toBe(OWNED_HEADER);
        expect(lines.length).toBe(settings.size + 2);
        for (const line of lines.slice(1, -1)) expect(line).toMatch(/^[a-z_]+ = '[A-Za-z0-9_.,:*-]+'$/);
        expect(new Map(parseConf(text).map((e) => [e.name, e.value]))).toEqual(settings);
      }),
      { numRuns: 3000 },
    );
  });
});
