// `npm run stitchgraph -- sync …` (docs/adr/0024-profiles-sync.md): add a DuckDB target, sync it now, read
// its status and list, resync it and remove it; refusals are clear. A database of this file's own, so
// that no other file's service syncs its target.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, UsageError } from '../../src/cli.ts';
import type { Database } from '../../src/postgres/database.ts';
import { createServices } from '../../src/services.ts';
import { openTestGraph, uniqueSpace, type TestGraph } from '../support/graph.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { queryDuckDb, tempDuckDbFile, TEST_SYNC_KEY } from '../support/sync.ts';

let t: TestGraph;
let own: { db: Database; drop: () => Promise<void> };
let services: ReturnType<typeof createServices>;
let duck: Awaited<ReturnType<typeof tempDuckDbFile>>;
beforeAll(async () => {
  t = await openTestGraph();
  own = await openPrivateDatabase();
  services = createServices(t.graph, own.db, { syncSecretKey: TEST_SYNC_KEY });
  duck = await tempDuckDbFile();
});
afterAll(async () => {
  await duck.remove();
  await own.drop();
  await t.close();
});

describe('stitchgraph sync CLI', () => {
  it('adds a DuckDB target, syncs it now, shows its status, resyncs and removes it', async () => {
    const space = uniqueSpace('sync-cli');
    await services.identity.ensureSpace(space);
    const added = await runCommand(['sync', 'add', '--space', space, '--duckdb', duck.path], services);
    const id = /^Added sync target (sync_[0-9a-f]+) \(duckdb (.+)\) for space (.+)\.$/.exec(added);
    expect(id?.slice(2), added).toEqual([duck.path, space]);
    const target = String(id?.[1]);
    await services.ingest.send(space, 'identify', {
      userId: 'cli-u',
      traits: { plan: 'pro' },
      messageId: 'c1',
    });
    await services.ingest.send(space, 'track', { userId: 'cli-u', event: 'Paid', messageId: 'c2' });

    const run = await runCommand(['sync', 'run', target], services);
    expect(run).toMatch(new RegExp(`^Synced ${target}: \\d+ change-log rows read, \\d+ rows written\\.\\n`));
    expect(run).toMatch(/^lag: +0 change-log rows/m);
    expect(run).toMatch(/^last error: +none$/m);
    expect(await queryDuckDb(duck.path, 'SELECT name, value FROM user_traits')).toEqual([
      { name: 'plan', value: 'pro' },
    ]);

    const status = await runCommand(['sync', 'status', target], services);
    expect(status).toContain(`space:       ${space}`);
    expect(status).toContain(`location:    duckdb ${duck.path}`);
    expect(status).toMatch(/^rows: +[1-9]\d*$/m);
    const list = await runCommand(['sync', 'list', '--space', space], services);
    expect(list.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${target}\\t${space}\\tduckdb\\t.+\\tlag 0\\tok$`)),
    ]);

    const resynced = await runCommand(['sync', 'resync', target], services);
    expect(resynced).toMatch(new RegExp(`^Resynced ${target}: `));
    expect(await queryDuckDb(duck.path, 'SELECT id FROM tracks')).toEqual([{ id: 'c2' }]);
    expect(await runCommand(['sync', 'remove', target], services)).toBe(`Removed sync target ${target}.`);
    expect(await runCommand(['sync', 'list', '--space', space], services)).toBe('(no sync targets)');
  });

  it('refuses what cannot work, with the reason', async () => {
    await expect(runCommand(['sync', 'add', '--space', 's'], services)).rejects.toThrow(
      'sync add needs one of --duckdb <file> or --postgres <url>',
    );
    await expect(
      runCommand(['sync', 'add', '--space', 's', '--postgres', 'mysql://x'], services),
    ).rejects.toThrow('INVALID_LOCATION');
    await expect(
      runCommand(['sync', 'add', '--space', 's', '--postgres', 'postgres://127.0.0.1:1/none'], services),
    ).rejects.toThrow(/^TARGET_UNREACHABLE: /);
    await expect(runCommand(['sync', 'status', 'sync_nope'], services)).rejects.toThrow(UsageError);
    const keyless = createServices(t.graph, own.db);
    await expect(runCommand(['sync', 'add', '--space', 's', '--duckdb', duck.path], keyless)).rejects.toThrow(
      'SYNC_NOT_CONFIGURED: set SYNC_SECRET_KEY to add sync targets',
    );
  });
});
