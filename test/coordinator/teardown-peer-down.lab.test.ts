import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../lab/http.js';
import { nodeExec } from '../lab/index.js';
import { labSql, nodeSnapshot, pgStartedAt, type NodeSnapshot } from '../lab/node-snapshot.js';
import { cleanUpLabPair, onBoth as both, pgduplex as cli, setUpLabPair } from '../lab/setup-pair.js';

// Teardown from a while b's agent is stopped, then again once it is back: the second run finishes b.
const FIXTURE = `create table jobs (id bigserial primary key, queue text);
insert into jobs (queue) select 'default' from generate_series(1, 30);`;

const agentOnB = (verb: 'start' | 'stop') => nodeExec('b', ['systemctl', verb, 'pgduplex-agent']);
const peerAnswers = async () => {
  const r = await cli('a', 'peers', '--json');
  return r.exitCode === 0 && (JSON.parse(r.stdout) as Array<{ reachable: boolean }>)[0]?.reachable === true;
};

let before: { a: NodeSnapshot; b: NodeSnapshot };
const startedAfterFirstRun: string[] = [];

beforeAll(async () => {
  before = await setUpLabPair(FIXTURE);
}, 900_000);

afterAll(async () => {
  await agentOnB('start');
  await waitFor('b answers a', peerAnswers, (ok) => ok, 60_000).catch(() => undefined);
  await cleanUpLabPair(['jobs']);
}, 600_000);

describe('pgduplex teardown with the peer unreachable', () => {
  it("undoes a, names what remains on b, exits 3, and leaves b's side untouched", async () => {
    await agentOnB('stop');
    const startedB = await pgStartedAt('b');
    const r = await cli('a', 'teardown', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(3);
    expect(r.stdout).toMatch(/note\s+b\s+not reachable/);
    expect(r.stdout).toMatch(/slot-drop: dropped slot pgduplex_from_a .*the walsender using it was ended/);
    expect(r.stdout).toContain(
      'b could not be reached, so its side remains; run pgduplex teardown again once it answers',
    );
    expect(r.stdout).toContain('remains: b: subscription pgduplex_from_a');
    expect(r.stdout).toContain('remains: b: role pgduplex_repl and its passfile line');
    expect(await nodeSnapshot('a')).toEqual(before.a);
    expect(await labSql('b', "select string_agg(subname, ',') from pg_subscription")).toBe('pgduplex_from_a');
    expect(await labSql('b', 'show wal_level')).toBe('logical');
    expect(await pgStartedAt('b')).toBe(startedB);
    startedAfterFirstRun.push(...(await both(pgStartedAt)));
  });

  it('once b answers again, the next run finishes b; both nodes match their pre-setup state; only b restarts', async () => {
    await agentOnB('start');
    await waitFor('b answers a', peerAnswers, (ok) => ok, 60_000);
    const r = await cli('a', 'teardown', '--yes');
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/changed\s+b\s+subscription: dropped subscription pgduplex_from_a/);
    expect(r.stdout).not.toMatch(/^changed\s+a\s/m);
    const [a, b] = await both(nodeSnapshot);
    expect(a).toEqual(before.a);
    expect({ ...b, sequences: {} }).toEqual({ ...before.b, sequences: {} });
    expect(b.sequences).toEqual(before.a.sequences);
    expect(await labSql('b', 'select count(*) from jobs')).toBe('30');
    const now = await both(pgStartedAt);
    expect(now[0]).toBe(startedAfterFirstRun[0]);
    expect(now[1]).not.toBe(startedAfterFirstRun[1]);
  });

  it('then there is nothing left to do', async () => {
    const r = await cli('a', 'teardown', '--yes');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to do');
  });
});
