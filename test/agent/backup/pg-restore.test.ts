import { describe, expect, it } from 'vitest';
import { withoutGrantsTo } from '../../../agent/backup/pg-restore.js';

const run = (lines: string[]) => {
  const f = withoutGrantsTo('pgduplex_repl');
  return lines.flatMap((l) => [...f(l)]);
};

describe('withoutGrantsTo', () => {
  it("drops grants to pgduplex's role and keeps every other line, the operator's grants included", () => {
    const script = [
      'CREATE TABLE public.notes (id integer NOT NULL);',
      'GRANT SELECT ON TABLE public.notes TO pgduplex_repl;',
      'REVOKE ALL ON TABLE public.notes FROM "pgduplex_repl";',
      'GRANT SELECT ON TABLE public.notes TO fusionpbx;',
      'GRANT SELECT ON TABLE public.notes TO pgduplex_repl_other;',
    ];
    expect(run(script)).toEqual([script[0], script[3], script[4]]);
  });

  it('never touches COPY data, even a row that reads like a grant', () => {
    const script = [
      'COPY public.notes (id, note) FROM stdin;',
      '1\tGRANT SELECT ON x TO pgduplex_repl;',
      'GRANT SELECT ON TABLE public.notes TO pgduplex_repl;',
      '\\.',
      'GRANT SELECT ON TABLE public.notes TO pgduplex_repl;',
    ];
    expect(run(script)).toEqual(script.slice(0, 4));
  });
});
