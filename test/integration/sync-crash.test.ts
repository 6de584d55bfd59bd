// Issue 15, "exactly once": a Profiles Sync interrupted at any point neither loses nor duplicates a row.
// The service runs in a child process (test/support/crash-service.ts; its sync worker every 50 ms, 4
// change-log rows per target transaction) syncing a DuckDB file and a PostgreSQL database, and dies by
// SIGKILL in the middle of a sync transaction (rows and cursor written, not committed) or just after the
// target committed (before the event store heard of it), for each kind of target; between kills, more
// events arrive (new people, identifies that merge their anonymous profiles, trait changes). A last child
// syncs everything. Then each target's tables equal, row for row, those of a fresh target of the same
// kind synced in one go without a kill, and every event is in its table once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/postgres/database.ts';
import { createServices, type Services } from '../../src/services.ts';
import type { SyncTargetStatus } from '../../src/sync/index.ts';
import { startCrashChild, type CrashChild } from '../support/crash-child.ts';
import { openTestGraph, uniqueSpace, type TestGraph } from '../support/graph.ts';
import { sleep } from '../support/killed-load.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { prng } from '../support/prng.ts';
import {
  openTargetDatabase,
  queryDuckDb,
  queryPostgres,
  tempDuckDbFile,
  TEST_SYNC_KEY,
} from '../support/sync.ts';

const SEED = 20261130;
type Kind = 'duckdb' | 'postgres';

/** Every table a sync writes, with the columns compared (all but uuid_ts, the time of writing). */
const TABLES: Record<string, string[]> = {
  id_graph_updates: [
    'segment_id',
    'canonical_segment_id',
    'triggering_event_type',
    'triggering_event_id',
    '"timestamp"',
    'received_at',
    'seq',
  ],
  external_id_mapping_updates: [
    'id',
    'segment_id',
    'external_id_type',
    'external_id_value',
    'external_id_hash',
    'triggering_event_id',
    'triggering_event_name',
    'triggering_event_type',
    '"timestamp"',
    'received_at',
    'seq',
  ],
  profile_traits_updates: [
    'segment_id',
    'canonical_segment_id',
    'traits',
    'triggering_event_id',
    'triggering_event_type',
    '"timestamp"',
    'received_at',
    'seq',
  ],
  identifies: [
    'id',
    'segment_id',
    'user_id',
    'anonymous_id',
    'traits',
    'context',
    '"timestamp"',
    'received_at',
  ],
  tracks: ['id', 'segment_id', 'user_id', 'anonymous_id', 'event', 'event_text', 'properties', '"timestamp"'],
  pages: ['id', 'segment_id', 'anonymous_id', 'name', 'properties', '"timestamp"'],
  profile_merges: ['segment_id', 'canonical_segment_id', '"timestamp"', 'seq'],
  user_identifiers: ['canonical_segment_id', 'type', 'value', '"timestamp"', 'seq'],
  user_traits: ['canonical_segment_id', 'name', 'value', '"timestamp"', 'seq'],
  audience_membership_updates: [
    'id',
    'level',
    'canonical_segment_id',
    'audience_key',
    'entered',
    'cause',
    '"timestamp"',
    'seq',
  ],
  computed_trait_updates: [
    'id',
    'level',
    'canonical_segment_id',
    'trait_key',
    'value',
    'cause',
    '"timestamp"',
    'seq',
  ],
  audience_memberships: ['canonical_segment_id', 'audience_key', 'since', 'seq'],
  computed_traits: ['canonical_segment_id', 'trait_key', 'value', 'updated_at', 'seq'],
};

/** A table's rows as text, in one order (the same SQL on both kinds). */
const tableSql = (table: string, columns: string[]) =>
  `SELECT ${columns.map((c) => `CAST(${c} AS VARCHAR) AS ${c}`).join(', ')} FROM ${table} ORDER BY ${columns.map((_, i) => i + 1).join(', ')}`;

let t: TestGraph;
let own: { db: Database; url: string; drop: () => Promise<void> };
let services: Services;
const children: CrashChild[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  t = await openTestGraph();
  // A database of this file's own: the children's sync workers sync every target it holds.
  own = await openPrivateDatabase();
  services = createServices(t.graph, own.db, { syncSecretKey: TEST_SYNC_KEY });
});
afterAll(async () => {
  for (const c of children)
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  for (const cleanup of cleanups.reverse()) await cleanup();
  await own.drop();
  await t.close();
});

/** A child on this file's database, syncing every 50 ms, 4 change-log rows per transaction. */
async function child(kill?: string): Promise<CrashChild> {
  const c = await startCrashChild({
    DATABASE_URL: own.url,
    SYNC_SECRET_KEY: TEST_SYNC_KEY,
    SYNC_INTERVAL_MS: '50',
    SYNC_BATCH: '4',
    ...(kill === undefined ? {} : { SYNC_KILL_AT: kill }),
  });
  children.push(c);
  return c;
}

/** Sends `n` events of people from `first` on: pages while anonymous, identifies that merge, tracks. */
async function send(space: string, rand: () => number, first: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const person = first + Math.floor(rand() * 6);
    const visit = Math.floor(rand() * 2);
    const anonymousId = `a${person}-${visit}`;
    const userId = `u${person}`;
    const messageId = `m${first}-${i}`;
    const r = rand();
    const outcome =
      r < 0.35
        ? await services.ingest.send(space, 'page', {
            anonymousId,
            name: 'Docs',
            properties: { i },
            messageId,
          })
        : r < 0.65
          ? await services.ingest.send(space, 'identify', {
              userId,
              anonymousId,
              traits: {
                plan: rand() < 0.5 ? 'free' : 'pro',
                visits: i,
                ...(rand() < 0.3 ? { email: `${userId}@x.com` } : {}),
              },
              messageId,
            })
          : await services.ingest.send(space, 'track', {
              ...(rand() < 0.5 ? { userId } : { anonymousId }),
              event: 'Order Completed',
              properties: { total: i },
              messageId,
            });
    expect(outcome.ok, messageId).toBe(true);
  }
}

async function rows(kind: Kind, location: string, sql: string): Promise<Record<string, unknown>[]> {
  if (kind === 'duckdb') return queryDuckDb(location, sql);
  const pool = new (await import('pg')).default.Pool({ connectionString: location, max: 1 });
  try {
    return await queryPostgres(pool, sql);
  } finally {
    await pool.end();
  }
}

async function newTarget(space: string, kind: Kind): Promise<{ status: SyncTargetStatus; location: string }> {
  let location: string;
  if (kind === 'duckdb') {
    const file = await tempDuckDbFile();
    cleanups.push(file.remove);
    location = file.path;
  } else {
    const db = await openTargetDatabase();
    cleanups.push(db.drop);
    location = db.url;
  }
  const added = await services.sync.addTarget(space, { kind, location });
  if (!added.ok) throw new Error(added.message);
  return { status: added.target, location };
}

/** Waits until every target of the space has every change (the child's worker does the work). */
async function caughtUp(space: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const targets = await services.sync.targets(space);
    if (targets.every((x) => x.lag.changes === 0 && x.lastSyncedAt !== null && !x.resyncPending)) return;
    if (Date.now() > deadline) throw new Error(`sync did not catch up: ${JSON.stringify(targets)}`);
    await sleep(50);
  }
}

describe('Profiles Sync under kill -9', () => {
  it('after kills mid-batch and after commit, each target equals one synced without a kill', async () => {
    const rand = prng(SEED);
    const space = uniqueSpace('sync-crash');
    await services.identity.ensureSpace(space);
    // An audience and a computed trait, so that computed_value_changes has rows to sync too (the
    // children's workers recompute as events arrive).
    for (const created of [
      await services.computed.createAudience(space, {
        key: 'buyers',
        definition: "event('Order Completed').count() >= 1",
        level: 'USERS',
        includeAnonymous: true,
        description: null,
      }),
      await services.computed.create(space, {
        key: 'orders',
        definition: "event('Order Completed').count()",
        level: 'USERS',
        description: null,
      }),
    ])
      expect(created.ok).toBe(true);
    await send(space, rand, 0, 30);
    const crashed = {
      duckdb: await newTarget(space, 'duckdb'),
      postgres: await newTarget(space, 'postgres'),
    };
    const kills = ['written:3:duckdb', 'written:2:postgres', 'committed:2:duckdb', 'committed:3:postgres'];
    for (const [i, kill] of kills.entries()) {
      const c = await child(kill);
      expect(await c.exited, kill).toBe('SIGKILL');
      // More people arrive while no process syncs.
      await send(space, rand, 10 * (i + 1), 15);
    }
    const last = await child();
    await caughtUp(space);
    last.child.kill('SIGKILL');
    await last.exited;
    // Whatever the last child left to recompute, recomputed here; the crashed targets then take it too
    // (finishing after the kills, not repairing them: a lost or repeated row would still show).
    for (let i = 0; i < 100; i++) {
      const { marked, recomputed } = await services.computed.catchUp();
      if (marked === 0 && recomputed === 0) break;
    }
    for (const target of Object.values(crashed)) await services.sync.catchUp(target.status.id);

    for (const kind of ['duckdb', 'postgres'] as const) {
      const fresh = await newTarget(space, kind);
      await services.sync.catchUp(fresh.status.id);
      const target = crashed[kind];
      for (const [table, columns] of Object.entries(TABLES)) {
        const got = await rows(kind, target.location, tableSql(table, columns));
        const want = await rows(kind, fresh.location, tableSql(table, columns));
        expect(got.length, `${kind} ${table}`).toBeGreaterThan(0);
        expect(got, `${kind} ${table}`).toEqual(want);
      }
      // Every event stored in the event store is in its target table once.
      for (const table of ['identifies', 'tracks', 'pages']) {
        const { rows: stored } = await own.db.pool.query<{ id: string }>(
          `SELECT id FROM ${table} WHERE space = $1 ORDER BY id`,
          [space],
        );
        const synced = await rows(kind, target.location, `SELECT id FROM ${table} ORDER BY id`);
        expect(
          synced.map((r) => r.id),
          `${kind} ${table}`,
        ).toEqual(stored.map((r) => r.id));
      }
      const status = await services.sync.target(target.status.id);
      expect(status, kind).toMatchObject({ lastError: null, lag: { changes: 0 } });
      expect(status?.rowsWritten, kind).toBe((await services.sync.target(fresh.status.id))?.rowsWritten);
    }
  }, 300_000);
});
