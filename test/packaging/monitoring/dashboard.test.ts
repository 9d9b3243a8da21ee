import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadDashboard, SHIPPED } from './monitoring.js';

// Grafana is not installable here, so the dashboard is checked against @grafana/schema's types: the whole
// dashboard against Dashboard, and each panel's options and custom field config against its plugin's types.
// The JSON goes into a TypeScript source as object literals with `satisfies`, so unknown keys are errors too.
const PANELCFG = '@grafana/schema/dist/esm/raw/composable';
const PLUGINS: Record<string, { module: string; custom: boolean }> = {
  timeseries: { module: `${PANELCFG}/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen`, custom: true },
  stat: { module: `${PANELCFG}/stat/panelcfg/x/StatPanelCfg_types.gen`, custom: false },
  'state-timeline': { module: `${PANELCFG}/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen`, custom: true },
};

const PRELUDE = `
import type { Dashboard, FieldConfig, FieldConfigSource, Panel, DataQuery } from '@grafana/schema';
${Object.entries(PLUGINS)
  .map(([, p], i) => `import type * as P${i} from '${p.module}';`)
  .join('\n')}
// JSON holds an enum's value, not the enum: take each string enum as the union of its values.
type Json<T> = T extends string
  ? \`\${T}\`
  : T extends readonly (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;
// A Prometheus target: the common DataQuery with what the Prometheus data source reads.
type PromTarget = DataQuery & { expr: string; legendFormat?: string; range?: boolean; instant?: boolean };
type Typed<O, C> = Omit<Panel, 'options' | 'fieldConfig' | 'targets'> & {
  targets: PromTarget[];
  options: O;
  fieldConfig: { defaults: Omit<FieldConfig, 'custom'> & { custom?: C }; overrides: FieldConfigSource['overrides'] };
};
`;

/** TypeScript's complaints about the dashboard text, checked as described above. */
function typeErrors(dashboardText: string): string[] {
  const dashboard = JSON.parse(dashboardText) as { panels: Array<{ type: string }> };
  const keys = Object.keys(PLUGINS);
  const panels = dashboard.panels.map((p, n) => {
    const i = keys.indexOf(p.type);
    if (i < 0) return `const panel${n}: never = ${JSON.stringify(p.type)};`;
    const custom = PLUGINS[p.type]?.custom ? `P${i}.FieldConfig` : 'never';
    return `export const panel${n} = ${JSON.stringify(p)} satisfies Json<Typed<P${i}.Options, ${custom}>>;`;
  });
  const source = `${PRELUDE}\nexport const dashboard = (${dashboardText.trim()}) satisfies Json<Dashboard>;\n${panels.join('\n')}\n`;
  // A file beside this test, so that node_modules resolves as for the project's own sources.
  const file = join(import.meta.dirname, '__dashboard_check.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const at = d.file && d.start !== undefined ? d.file.text.slice(d.start, d.start + 60) : '';
    return `${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n').slice(0, 3).join(' / ')} at ${at}`;
  });
}

describe('the Grafana dashboard', () => {
  const text = readFileSync(SHIPPED.dashboard, 'utf8');

  it("type-checks against @grafana/schema's Dashboard and each panel plugin's options", () => {
    expect(typeErrors(text)).toEqual([]);
  }, 60_000);

  // TypeScript reports one problem per literal, so each mistake is made alone.
  type Mutable = { panels: Array<Record<string, unknown>>; [k: string]: unknown };
  const panel = (d: Mutable, type: string) => d.panels.find((p) => p['type'] === type) as Record<string, unknown>;
  it.each<[string, (d: Mutable) => void, RegExp]>([
    ['a misspelt dashboard key', (d) => (d['refrsh'] = '1m'), /'"refrsh"' does not exist/],
    ['a misspelt panel key', (d) => (panel(d, 'timeseries')['titel'] = 'x'), /'"titel"' does not exist/],
    [
      'a wrong enum value',
      (d) => (panel(d, 'stat')['options'] = { ...(panel(d, 'stat')['options'] as object), colorMode: 'x' }),
      /'"x"' is not assignable/,
    ],
    ['an unknown panel type', (d) => (panel(d, 'stat')['type'] = 'graph'), /"graph"/],
    [
      'a wrong type',
      (d) => (panel(d, 'state-timeline')['gridPos'] = { x: 0, y: 0, w: 'wide', h: 4 }),
      /'string' is not assignable to type 'number'/,
    ],
    [
      'an unknown custom field option',
      (d) => (panel(d, 'timeseries')['fieldConfig'] = { defaults: { custom: { lineWidht: 1 } }, overrides: [] }),
      /lineWidht/,
    ],
  ])(
    'the check catches %s',
    (_, mutate, error) => {
      const bad = loadDashboard() as unknown as Mutable;
      mutate(bad);
      expect(typeErrors(JSON.stringify(bad)).join('\n')).toMatch(error);
    },
    60_000,
  );

  it('has the panels the operator needs: both directions over time, WAL, conflicts, errors, state', () => {
    const titles = loadDashboard().panels.map((p) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Lag (bytes)',
        'Lag (seconds)',
        'Held WAL',
        'WAL left before the slot is lost (safe_wal_size)',
        'Conflicts',
        'Apply and sync errors',
        'Subscriptions',
        'PostgreSQL',
      ]),
    );
  });
});
