import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeName } from './constants.js';
import { nodeSql as sql } from './sql.js';

/** A writer on one node: a row in v_domains every `everyMs`, named after its node and number, until stopped. */
export function domainWriter(node: NodeName, tag: string, everyMs = 100) {
  const written: string[] = [];
  let stop = false;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      const name = `${tag}-${node}-${i}.example`;
      await sql(node, `insert into v_domains (domain_uuid, domain_name) values (md5('${name}')::uuid, '${name}')`);
      written.push(name);
      await sleep(everyMs);
    }
  })();
  return {
    written,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}
