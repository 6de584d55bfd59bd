import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/postgres/database.ts';
import { DEFAULT_SYNC_SETTINGS, SyncService } from '../../src/sync/index.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { newStack, type Stack } from '../support/stack.ts';
import { openTargetDatabase, tempDuckDbFile, TEST_SYNC_KEY } from '../support/sync.ts';

let t: TestGraph;
let own: { db: Database; drop: () => Promise<void> };
let s: Stack;
beforeAll(async () => {
  const shared = await openTestGraph();
  own = await openPrivateDatabase();
  t = { ...shared, db: own.db, close: shared.close };
  s = await newStack(t);
});
afterAll(async () => {
  await own.drop();
  await t.close();
});
it('times', async () => {
  const batch = [];
  for (let i = 0; i < 3000; i++) {
    const who = i % 400;
    batch.push(
      i % 3 === 0
        ? { type: 'identify', userId: `u${who}`, anonymousId: `a${who}`, traits: { n: i, plan: i % 2 ? 'a' : 'b' }, messageId: `m${i}` }
        : { type: 'track', userId: `u${who}`, event: 'Order Completed', properties: { total: i }, messageId: `m${i}` },
    );
  }
  for (let i = 0; i < batch.length; i += 100)
    await s.ingest.batch(s.space, { batch: batch.slice(i, i + 100) } as never);
  const sync = new SyncService(t.db, s.events, { ...DEFAULT_SYNC_SETTINGS }, TEST_SYNC_KEY);
  const pg = await openTargetDatabase();
  const duck = await tempDuckDbFile();
  for (const [kind, location] of [['postgres', pg.url], ['duckdb', duck.path]] as const) {
    const added = await sync.addTarget(s.space, { kind, location });
    if (!added.ok) throw new Error(added.message);
    const t0 = performance.now();
    const run = await sync.catchUp(added.target.id);
    console.log(kind, run, ((performance.now() - t0) / 1000).toFixed(2), 's');
    expect(run.rows).toBeGreaterThan(3000);
  }
  await pg.drop();
  await duck.remove();
}, 600_000);
