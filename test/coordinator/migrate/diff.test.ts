import { describe, expect, it } from 'vitest';
import type { ColumnModel, SchemaModel, TableModel } from '../../../shared/protocol/migrate.js';
import {
  columnSql,
  planCarry,
  referencedTable,
  sameSchema,
  touchFromSummary,
} from '../../../coordinator/migrate/diff.js';
import { identityFor, uniqueColumns } from '../../../coordinator/migrate/keys.js';

const col = (name: string, type: string, o: Partial<ColumnModel> = {}): ColumnModel => ({
  name,
  type,
  notNull: false,
  default: null,
  volatileDefault: false,
  identity: '',
  generated: '',
  ...o,
});
const table = (name: string, columns: ColumnModel[], o: Partial<TableModel> = {}): TableModel => ({
  name,
  columns,
  replicaIdentity: 'd',
  identityIndex: null,
  ...o,
});
const model = (o: Partial<SchemaModel> = {}): SchemaModel => ({
  schema: 'public',
  tables: [],
  constraints: [],
  indexes: [],
  sequences: [],
  others: [],
  ...o,
});

const domains = table('v_domains', [col('domain_uuid', 'uuid', { notNull: true }), col('domain_name', 'text')]);
const base = model({
  tables: [domains],
  constraints: [{ table: 'v_domains', name: 'v_domains_pkey', type: 'p', def: 'PRIMARY KEY (domain_uuid)' }],
});

describe('planCarry', () => {
  it('finds nothing to carry between equal schemas', () => {
    expect(planCarry(base, base).statements).toEqual([]);
    expect(sameSchema(base, base)).toBe(true);
  });

  it('adds a column with a constant default as it is, lending the table', () => {
    const a = model({
      ...base,
      tables: [table('v_domains', [...domains.columns, col('pbx_region', 'text', { default: "'eu'::text" })])],
    });
    const p = planCarry(a, base);
    expect(p.statements).toEqual([`ALTER TABLE public."v_domains" ADD COLUMN "pbx_region" text DEFAULT 'eu'::text;`]);
    expect(p.lend).toEqual(['v_domains']);
    expect(p.creates.columns).toEqual([{ table: 'v_domains', column: 'pbx_region' }]);
    expect(p.touch).toEqual([]);
    expect(sameSchema(a, base)).toBe(false);
  });

  it('adds a column with a volatile default without it, sets it after, and owes a touch and NOT NULL', () => {
    const token = col('domain_token', 'uuid', {
      notNull: true,
      default: 'public.uuid_generate_v4()',
      volatileDefault: true,
    });
    const a = model({ ...base, tables: [table('v_domains', [...domains.columns, token])] });
    const p = planCarry(a, base, { source: 'a', target: 'b' });
    expect(p.statements).toEqual([
      'ALTER TABLE public."v_domains" ADD COLUMN "domain_token" uuid;',
      'ALTER TABLE public."v_domains" ALTER COLUMN "domain_token" SET DEFAULT public.uuid_generate_v4();',
    ]);
    expect(p.touch).toEqual([{ table: 'v_domains', columns: ['domain_token'] }]);
    expect(p.notNullLater).toEqual([{ table: 'v_domains', column: 'domain_token' }]);
    expect(touchFromSummary(p.summary.map((s) => `${s} (as a has it)`))).toEqual(p.touch);
  });

  it('creates a bigserial table with its sequence, key and index, and holds it', () => {
    const tags = table('call_tags', [
      col('id', 'bigint', {
        notNull: true,
        default: "nextval('public.call_tags_id_seq'::regclass)",
        volatileDefault: true,
      }),
      col('tag', 'text', { notNull: true }),
    ]);
    const a = model({
      tables: [domains, tags],
      constraints: [
        ...base.constraints,
        { table: 'call_tags', name: 'call_tags_pkey', type: 'p', def: 'PRIMARY KEY (id)' },
        {
          table: 'call_tags',
          name: 'call_tags_domain_fkey',
          type: 'f',
          def: 'FOREIGN KEY (domain_uuid) REFERENCES public.v_domains(domain_uuid)',
        },
      ],
      indexes: [
        {
          table: 'call_tags',
          name: 'call_tags_tag_idx',
          def: 'CREATE INDEX call_tags_tag_idx ON public.call_tags USING btree (tag)',
        },
      ],
      sequences: [{ name: 'call_tags_id_seq', type: 'bigint', increment: 1, ownedBy: 'call_tags.id' }],
    });
    const p = planCarry(a, base);
    expect(p.statements).toEqual([
      'CREATE SEQUENCE public."call_tags_id_seq" AS bigint;',
      `CREATE TABLE public."call_tags" ("id" bigint DEFAULT nextval('public.call_tags_id_seq'::regclass) NOT NULL, ` +
        '"tag" text NOT NULL);',
      'ALTER TABLE public."call_tags" ADD CONSTRAINT "call_tags_pkey" PRIMARY KEY (id);',
      'CREATE INDEX call_tags_tag_idx ON public.call_tags USING btree (tag);',
      'ALTER TABLE public."call_tags" ADD CONSTRAINT "call_tags_domain_fkey" FOREIGN KEY (domain_uuid) ' +
        'REFERENCES public.v_domains(domain_uuid);',
      'ALTER SEQUENCE public."call_tags_id_seq" OWNED BY public."call_tags"."id";',
    ]);
    expect(p.hold).toEqual(['call_tags']);
    expect(p.creates.tables).toEqual(['call_tags']);
    expect(p.creates.sequences).toEqual([]);
    expect(p.lend).toEqual(['v_domains']);
    expect(p.touch).toEqual([]);
  });

  it('refuses what would discard rows on the target, and what it does not model, in words', () => {
    const b = model({
      ...base,
      tables: [table('v_domains', [...domains.columns, col('old', 'text')]), table('gone', [])],
    });
    const a = model({ ...base, others: ['view v_x (definition 1234abcd)'] });
    const p = planCarry(a, b, { source: 'a', target: 'b' });
    expect(p.statements).toEqual([]);
    expect(p.refused.join('\n')).toContain('column v_domains.old is on b only');
    expect(p.refused.join('\n')).toContain('discards its values in every row of v_domains on b');
    expect(p.refused.join('\n')).toContain('DROP TABLE public."gone"');
    expect(p.refused.join('\n')).toContain('view v_x');
  });

  it('drops and re-creates a changed index, and carries type, default and NOT NULL changes', () => {
    const b = model({
      ...base,
      indexes: [{ table: 'v_domains', name: 'i', def: 'CREATE INDEX i ON public.v_domains USING btree (domain_name)' }],
    });
    const a = model({
      ...base,
      tables: [
        table('v_domains', [domains.columns[0]!, col('domain_name', 'character varying(255)', { notNull: true })]),
      ],
      indexes: [
        { table: 'v_domains', name: 'i', def: 'CREATE UNIQUE INDEX i ON public.v_domains USING btree (domain_name)' },
      ],
    });
    expect(planCarry(a, b).statements).toEqual([
      'ALTER TABLE public."v_domains" ALTER COLUMN "domain_name" TYPE character varying(255);',
      'ALTER TABLE public."v_domains" ALTER COLUMN "domain_name" SET NOT NULL;',
      'DROP INDEX public."i";',
      'CREATE UNIQUE INDEX i ON public.v_domains USING btree (domain_name);',
    ]);
  });
});

describe('column and key helpers', () => {
  it('writes identity and generated columns as PostgreSQL does', () => {
    expect(columnSql(col('id', 'bigint', { identity: 'd', notNull: true }))).toBe(
      '"id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL',
    );
    expect(columnSql(col('g', 'integer', { generated: 's', default: '(a + 1)' }))).toBe(
      '"g" integer GENERATED ALWAYS AS ((a + 1)) STORED',
    );
    expect(referencedTable('FOREIGN KEY (x) REFERENCES public."Odd ""T"""(id)')).toBe('Odd "T"');
  });

  it('picks a unique index over NOT NULL columns as replica identity, else none', () => {
    const t = table('links', [col('link_uuid', 'uuid', { notNull: true }), col('provider', 'text')]);
    const m = model({
      tables: [t],
      indexes: [
        { table: 'links', name: 'b_idx', def: 'CREATE UNIQUE INDEX b_idx ON public.links USING btree (provider)' },
        { table: 'links', name: 'c_idx', def: 'CREATE UNIQUE INDEX c_idx ON public.links USING btree (link_uuid)' },
      ],
    });
    expect(identityFor(m, t)).toEqual({ table: 'links', kind: 'index', index: 'c_idx' });
    expect(identityFor(model({ tables: [t] }), t)).toEqual({ table: 'links', kind: 'none' });
    expect(uniqueColumns('CREATE UNIQUE INDEX x ON public.t USING btree (a) WHERE (a > 1)')).toBeUndefined();
    expect(uniqueColumns('UNIQUE (a, "b c")')).toEqual(['a', 'b c']);
  });
});
