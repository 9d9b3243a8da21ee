import { verifiedGetAction, verifiedSetAction } from '../../shared/protocol/data.js';
import { join } from 'node:path';
import { z } from 'zod';
import { readPrivateJson, writePrivateJson } from '../state/private-files.js';
import type { AgentServices } from './context.js';
import { defineHandler } from './registry.js';

const FILE = 'verified.json';
const stored = z.record(z.string(), z.strictObject({ at: z.string(), head: z.string().nullable() }));

async function load(path: string): Promise<z.infer<typeof stored>> {
  const parsed = stored.safeParse((await readPrivateJson(path)) ?? {});
  return parsed.success ? parsed.data : {};
}

/**
 * Lets a setup re-run that changes nothing skip the row comparison only when one passed after the
 * last change on this node: an interrupted verify, or an undo since, makes the next run compare again.
 */
export const verifiedHandlers = (s: AgentServices) => {
  const path = () => join(s.journal.dir, FILE);
  return [
    defineHandler({
      descriptor: verifiedGetAction,
      run: async ({ database }) => {
        const hit = (await load(path()))[database];
        if (!hit) return { verifiedAt: null, current: false };
        return { verifiedAt: hit.at, current: hit.head === (await s.journal.head()) };
      },
    }),
    defineHandler({
      descriptor: verifiedSetAction,
      run: async ({ database }) => {
        const at = new Date().toISOString();
        await writePrivateJson(path(), { ...(await load(path())), [database]: { at, head: await s.journal.head() } });
        return { verifiedAt: at, current: true };
      },
    }),
  ];
};
