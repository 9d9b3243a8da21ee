import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterFollow, followedCluster, followedPath } from '../../../agent/state/cluster-follow.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgdx-follow-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const c = (version: string) => ({ version, cluster: 'main' });

describe('the cluster a node follows after pg-upgrade', () => {
  it('is the configured (or detected) one until an upgrade', () => {
    expect(followedCluster(undefined, null)).toBeUndefined();
    expect(followedCluster(c('17'), null)).toEqual(c('17'));
  });

  it('is the upgrade target over a configured cluster the upgrades replaced, across two upgrades', async () => {
    const f = await ClusterFollow.load(dir);
    await f.set(c('17'), c('18'));
    await f.set(c('18'), c('19'));
    const again = await ClusterFollow.load(dir);
    expect(again.get()?.replaced).toEqual([c('17'), c('18')]);
    expect(followedCluster(c('17'), again.get())).toEqual(c('19'));
    expect(followedCluster(c('18'), again.get())).toEqual(c('19'));
    expect(followedCluster(undefined, again.get())).toEqual(c('19'));
    // A cluster the operator configured that no upgrade replaced is theirs to choose.
    // A file recorded in a replaced cluster's config dir is the followed cluster's now (teardown after upgrades).
    expect(followedPath('/etc/postgresql/17/main/pg_hba.conf', again.get())).toBe(
      '/etc/postgresql/19/main/pg_hba.conf',
    );
    expect(followedPath('/etc/postgresql/17/mainx/pg_hba.conf', again.get())).toBe(
      '/etc/postgresql/17/mainx/pg_hba.conf',
    );
    expect(followedPath('/etc/postgresql/17/main/conf.d/50-pgduplex.conf', null)).toBe(
      '/etc/postgresql/17/main/conf.d/50-pgduplex.conf',
    );
    expect(followedCluster({ version: '19', cluster: 'other' }, again.get())).toEqual({
      version: '19',
      cluster: 'other',
    });
  });
});
