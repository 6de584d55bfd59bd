// Profiles Sync (SEMANTICS.md §11, docs/adr/0024-profiles-sync.md) against the run's PostgreSQL (a target
// database of the test's own) and a temporary DuckDB file: events, identifiers, merges and traits arrive
// in Segment's table shapes; user_traits, user_identifiers and profile_merges answer as after the merge,
// and account_traits and account_members (ours: Segment's Profiles Sync has no account tables) too;
// later changes arrive incrementally, once; a resync writes the same again; a target that is down costs
// only delay (its error is recorded, and the next attempt catches up); GraphQL shows each target's state to
// admins only, and /metrics to Prometheus. A database of this file's own, so that no other file's service
// syncs these targets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/postgres/database.ts';
import type { Service } from '../../src/service.ts';
import { DEFAULT_SYNC_SETTINGS, SyncService, type SyncTargetStatus } from '../../src/sync/index.ts';
import { postGraphQL } from '../support/api.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { startTestService } from '../support/service.ts';
import { newStack, type Stack } from '../support/stack.ts';
import {
  openTargetDatabase,
  queryDuckDb,
  queryPostgres,
  tempDuckDbFile,
  TEST_SYNC_KEY,
} from '../support/sync.ts';

let t: TestGraph;
let own: { db: Database; url: string; drop: () => Promise<void> };
let s: Stack;
let sync: SyncService;
let pgTarget: Awaited<ReturnType<typeof openTargetDatabase>>;
let duck: Awaited<ReturnType<typeof tempDuckDbFile>>;
const targets: { kind: 'duckdb' | 'postgres'; status: SyncTargetStatus }[] = [];

beforeAll(async () => {
  const shared = await openTestGraph();
  own = await openPrivateDatabase();
  t = { ...shared, db: own.db, close: shared.close };
  s = await newStack(t);
  // A small batch, so that a sync takes several target transactions.
  sync = new SyncService(t.db, s.events, { ...DEFAULT_SYNC_SETTINGS, batch: 3 }, TEST_SYNC_KEY);
  pgTarget = await openTargetDatabase();
  duck = await tempDuckDbFile();
});
afterAll(async () => {
  for (const target of targets) await sync.removeTarget(target.status.id);
  await pgTarget.drop();
  await duck.remove();
  await own.drop();
  await t.close();
});

/** The rows of `sql` on a target, the same SQL for both kinds. */
function query(kind: 'duckdb' | 'postgres', sql: string): Promise<Record<string, unknown>[]> {
  return kind === 'duckdb' ? queryDuckDb(duck.path, sql) : queryPostgres(pgTarget.pool, sql);
}

const ids: Record<string, string> = {};

describe('Profiles Sync', () => {
  it('adds a DuckDB and a PostgreSQL target, storing the URL encrypted', async () => {
    const d = await sync.addTarget(s.space, { kind: 'duckdb', location: duck.path });
    const p = await sync.addTarget(s.space, { kind: 'postgres', location: pgTarget.url, name: 'warehouse' });
    expect(d).toMatchObject({ ok: true, target: { kind: 'duckdb', location: duck.path, rowsWritten: 0 } });
    expect(p).toMatchObject({ ok: true, target: { kind: 'postgres', name: 'warehouse' } });
    if (!d.ok || !p.ok) throw new Error('not added');
    targets.push({ kind: 'duckdb', status: d.target }, { kind: 'postgres', status: p.target });
    // The same place twice is refused; so is the event store's own database.
    expect(await sync.addTarget(s.space, { kind: 'duckdb', location: duck.path })).toMatchObject({
      ok: false,
      code: 'LOCATION_TAKEN',
    });
    const { rows } = await t.db.pool.query<{ location: string }>(
      'SELECT location FROM sync_targets WHERE id = $1',
      [p.target.id],
    );
    expect(rows[0]?.location).toMatch(/^v1:/);
    expect(rows[0]?.location).not.toContain(new URL(pgTarget.url).pathname.slice(1));
  });

  it('refuses a target in the event store’s own schema', async () => {
    const own = (await t.db.pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? '';
    const url = new URL(pgTarget.url);
    url.pathname = `/${own}`;
    expect(await sync.addTarget(s.space, { kind: 'postgres', location: url.toString() })).toMatchObject({
      ok: false,
      code: 'TARGET_NOT_EMPTY',
    });
  });

  it('writes events, identity changes and traits; the views answer as after the merge', async () => {
    const a = await s.send('page', { anonymousId: 'ps-a1', name: 'Home', messageId: 'ps-m1' });
    await s.send('identify', {
      userId: 'ps-u1',
      anonymousId: 'ps-a1',
      traits: { email: 'Jane@Example.com', plan: 'free' },
      messageId: 'ps-m2',
    });
    const b = await s.send('page', { anonymousId: 'ps-a2', name: 'Pricing', messageId: 'ps-m3' });
    const merged = await s.send('identify', {
      userId: 'ps-u1',
      anonymousId: 'ps-a2',
      traits: { plan: 'pro', seats: 3 },
      messageId: 'ps-m4',
    });
    await s.send('track', {
      userId: 'ps-u1',
      event: 'Order Completed',
      properties: { total: 30 },
      messageId: 'ps-m5',
    });
    ids.a = a.profileId ?? '';
    ids.b = b.profileId ?? '';
    ids.survivor = merged.profileId ?? '';
    expect(new Set([ids.a, ids.b])).toEqual(new Set([ids.a, ids.b].filter((x) => x !== '')));
    expect([ids.a, ids.b]).toContain(ids.survivor);
    ids.gone = ids.a === ids.survivor ? ids.b : ids.a;

    for (const { kind, status } of targets) {
      const run = await sync.catchUp(status.id);
      expect(run.changes, kind).toBeGreaterThan(0);
      expect(
        await query(kind, 'SELECT id, segment_id, anonymous_id, name FROM pages ORDER BY id'),
        kind,
      ).toEqual([
        { id: 'ps-m1', segment_id: ids.a, anonymous_id: 'ps-a1', name: 'Home' },
        { id: 'ps-m3', segment_id: ids.b, anonymous_id: 'ps-a2', name: 'Pricing' },
      ]);
      expect(await query(kind, 'SELECT id, user_id, traits FROM identifies ORDER BY id'), kind).toEqual([
        expect.objectContaining({ id: 'ps-m2', user_id: 'ps-u1' }),
        expect.objectContaining({ id: 'ps-m4', user_id: 'ps-u1' }),
      ]);
      expect(await query(kind, 'SELECT id, event, event_text, user_id FROM tracks'), kind).toEqual([
        { id: 'ps-m5', event: 'order_completed', event_text: 'Order Completed', user_id: 'ps-u1' },
      ]);
      // id_graph_updates: each profile created, then the merged one (and what mapped to it) re-pointed.
      expect(
        await query(
          kind,
          'SELECT segment_id, canonical_segment_id, triggering_event_type, triggering_event_id FROM id_graph_updates ORDER BY seq, segment_id',
        ),
        kind,
      ).toEqual([
        {
          segment_id: ids.a,
          canonical_segment_id: ids.a,
          triggering_event_type: 'page',
          triggering_event_id: 'ps-m1',
        },
        {
          segment_id: ids.b,
          canonical_segment_id: ids.b,
          triggering_event_type: 'page',
          triggering_event_id: 'ps-m3',
        },
        {
          segment_id: ids.gone,
          canonical_segment_id: ids.survivor,
          triggering_event_type: 'identify',
          triggering_event_id: 'ps-m4',
        },
      ]);
      expect(
        await query(kind, 'SELECT segment_id, canonical_segment_id FROM profile_merges ORDER BY segment_id'),
        kind,
      ).toEqual([ids.a, ids.b].sort().map((id) => ({ segment_id: id, canonical_segment_id: ids.survivor })));
      expect(
        await query(
          kind,
          'SELECT canonical_segment_id, type, value FROM user_identifiers ORDER BY type, value',
        ),
        kind,
      ).toEqual([
        { canonical_segment_id: ids.survivor, type: 'anonymous_id', value: 'ps-a1' },
        { canonical_segment_id: ids.survivor, type: 'anonymous_id', value: 'ps-a2' },
        { canonical_segment_id: ids.survivor, type: 'email', value: 'jane@example.com' },
        { canonical_segment_id: ids.survivor, type: 'user_id', value: 'ps-u1' },
      ]);
      expect(
        await query(
          kind,
          'SELECT external_id_type, external_id_value, segment_id, triggering_event_id FROM external_id_mapping_updates ORDER BY seq, external_id_type, external_id_value',
        ),
        kind,
      ).toEqual([
        {
          external_id_type: 'anonymous_id',
          external_id_value: 'ps-a1',
          segment_id: ids.a,
          triggering_event_id: 'ps-m1',
        },
        expect.objectContaining({
          external_id_type: 'email',
          external_id_value: 'jane@example.com',
          triggering_event_id: 'ps-m2',
        }),
        expect.objectContaining({
          external_id_type: 'user_id',
          external_id_value: 'ps-u1',
          triggering_event_id: 'ps-m2',
        }),
        {
          external_id_type: 'anonymous_id',
          external_id_value: 'ps-a2',
          segment_id: ids.b,
          triggering_event_id: 'ps-m3',
        },
      ]);
      expect(
        await query(kind, 'SELECT canonical_segment_id, name, value FROM user_traits ORDER BY name'),
        kind,
      ).toEqual([
        { canonical_segment_id: ids.survivor, name: 'email', value: 'Jane@Example.com' },
        { canonical_segment_id: ids.survivor, name: 'plan', value: 'pro' },
        { canonical_segment_id: ids.survivor, name: 'seats', value: '3' },
      ]);
      const after = await sync.target(status.id);
      expect(after, kind).toMatchObject({ lastError: null, lag: { changes: 0 } });
      expect(after?.rowsWritten, kind).toBeGreaterThan(0);
    }
  });

  it('adds only what changed since, once; a resync writes the same rows again', async () => {
    await s.send('identify', { userId: 'ps-u1', traits: { plan: null }, messageId: 'ps-m6' });
    await s.send('track', { userId: 'ps-u1', event: 'Signed Out', messageId: 'ps-m7' });
    for (const { kind, status } of targets) {
      await sync.catchUp(status.id);
      // A second pass with nothing new writes nothing (and does not open the target).
      expect(await sync.catchUp(status.id), kind).toEqual({ changes: 0, rows: 0 });
      expect(await query(kind, 'SELECT id FROM tracks ORDER BY id'), kind).toEqual([
        { id: 'ps-m5' },
        { id: 'ps-m7' },
      ]);
      expect(await query(kind, 'SELECT name, value FROM user_traits ORDER BY name'), kind).toEqual([
        { name: 'email', value: 'Jane@Example.com' },
        { name: 'seats', value: '3' },
      ]);
      const tables = [
        'identifies',
        'tracks',
        'pages',
        'id_graph_updates',
        'external_id_mapping_updates',
        'profile_traits_updates',
        'user_identifiers',
        'user_traits',
        'profile_merges',
      ];
      const counts = async () =>
        Object.fromEntries(
          await Promise.all(
            tables.map(
              async (table) =>
                [table, Number((await query(kind, `SELECT count(*) AS n FROM ${table}`))[0]?.n)] as const,
            ),
          ),
        );
      const before = await counts();
      const rowsBefore = (await sync.target(status.id))?.rowsWritten;
      expect(await sync.requestResync(status.id)).toBe(true);
      expect(await sync.target(status.id), kind).toMatchObject({ resyncPending: true });
      await sync.catchUp(status.id);
      expect(await counts(), kind).toEqual(before);
      expect(await sync.target(status.id), kind).toMatchObject({
        resyncPending: false,
        rowsWritten: rowsBefore,
      });
    }
  });

  it('keeps accounts: account_traits as the group calls left them, account_members following merges', async () => {
    // An anonymous visitor joins Acme, ps-u1 removes a trait of it, then the visitor turns out to be ps-u1.
    await s.send('group', {
      anonymousId: 'ps-a3',
      groupId: 'ps-acme',
      traits: { name: 'Acme', tier: 'gold', seats: 10 },
      messageId: 'ps-g1',
    });
    await s.send('group', {
      userId: 'ps-u1',
      groupId: 'ps-acme',
      traits: { tier: null },
      messageId: 'ps-g2',
    });
    for (const { kind, status } of targets) {
      await sync.catchUp(status.id);
      // Two members before the merge: the visitor's profile and ps-u1's.
      expect((await query(kind, 'SELECT canonical_segment_id FROM account_members')).length, kind).toBe(2);
    }
    await s.send('identify', { userId: 'ps-u1', anonymousId: 'ps-a3', messageId: 'ps-g3' });
    for (const { kind, status } of targets) {
      await sync.catchUp(status.id);
      const [owner] = await query(
        kind,
        "SELECT canonical_segment_id FROM user_identifiers WHERE value = 'ps-u1'",
      );
      const rows = async () => ({
        traits: await query(kind, 'SELECT group_id, name, value FROM account_traits ORDER BY name'),
        members: await query(kind, 'SELECT group_id, canonical_segment_id FROM account_members'),
      });
      const before = await rows();
      expect(before, kind).toEqual({
        traits: [
          { group_id: 'ps-acme', name: 'name', value: 'Acme' },
          { group_id: 'ps-acme', name: 'seats', value: '10' },
        ],
        members: [{ group_id: 'ps-acme', canonical_segment_id: owner?.canonical_segment_id }],
      });
      // A resync from the change log's start ends the same.
      expect(await sync.requestResync(status.id)).toBe(true);
      await sync.catchUp(status.id);
      expect(await rows(), kind).toEqual(before);
    }
  });

  it('a target that is down costs only delay: its error is recorded and the next attempt catches up', async () => {
    const other = await openTargetDatabase();
    try {
      const name = new URL(other.url).pathname.slice(1);
      const added = await sync.addTarget(s.space, { kind: 'postgres', location: other.url });
      if (!added.ok) throw new Error(added.message);
      await sync.catchUp(added.target.id);
      await s.send('track', { userId: 'ps-u1', event: 'While Down', messageId: 'ps-m8' });
      // Take the target away: its database refuses connections, as a server that is down would.
      await t.db.pool.query(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
      await t.db.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
        name,
      ]);
      await expect(sync.catchUp(added.target.id)).rejects.toThrow();
      expect(await sync.target(added.target.id)).toMatchObject({
        lastError: expect.stringMatching(/.+/),
        failures: 1,
        lag: { changes: expect.any(Number) },
      });
      expect((await sync.target(added.target.id))?.lag.changes).toBeGreaterThan(0);
      await t.db.pool.query(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS true`);
      await sync.catchUp(added.target.id);
      expect(await sync.target(added.target.id)).toMatchObject({
        lastError: null,
        failures: 0,
        lag: { changes: 0 },
      });
      expect(await queryPostgres(other.pool, "SELECT id FROM tracks WHERE id = 'ps-m8'")).toEqual([
        { id: 'ps-m8' },
      ]);
      await sync.removeTarget(added.target.id);
    } finally {
      await other.drop();
    }
  });

  it('shows each target’s state over GraphQL, to admins only, and in /metrics', async () => {
    let service: Service | undefined;
    try {
      // The service on this file's database; its own worker syncs too (with the key, every 50 ms).
      service = await startTestService({
        DATABASE_URL: own.url,
        SYNC_SECRET_KEY: TEST_SYNC_KEY,
        SYNC_INTERVAL_MS: '50',
      });
      const admin = (await service.services.spaces.createKey(s.space, 'token', { scopes: ['admin'] })).secret;
      const reader = (await service.services.spaces.createKey(s.space, 'token')).secret;
      const QUERY = `{ syncTargets { id kind name location createdAt rowsWritten lagChanges lagSeconds lastSyncedAt lastError lastErrorAt failures resyncPending } }`;
      await s.send('track', { userId: 'ps-u1', event: 'Viewed Status', messageId: 'ps-m9' });
      const deadline = Date.now() + 30_000;
      let answer = await postGraphQL(service.url, admin, QUERY);
      const synced = (a: typeof answer) =>
        (a.data?.syncTargets as { lagChanges: number }[] | undefined)?.every((x) => x.lagChanges === 0) ??
        false;
      while (!synced(answer) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        answer = await postGraphQL(service.url, admin, QUERY);
      }
      expect(answer.errors).toBeUndefined();
      const byId = new Map((answer.data?.syncTargets as { id: string }[]).map((x) => [x.id, x]));
      for (const { kind, status } of targets) {
        expect(byId.get(status.id), kind).toEqual({
          id: status.id,
          kind: kind === 'duckdb' ? 'DUCKDB' : 'POSTGRES',
          name: status.name,
          location: status.location,
          createdAt: status.createdAt.toISOString(),
          rowsWritten: expect.any(Number),
          lagChanges: 0,
          lagSeconds: 0,
          lastSyncedAt: expect.stringMatching(/^\d{4}-/),
          lastError: null,
          lastErrorAt: null,
          failures: 0,
          resyncPending: false,
        });
        expect(await query(kind, "SELECT id FROM tracks WHERE id = 'ps-m9'"), kind).toEqual([
          { id: 'ps-m9' },
        ]);
      }
      expect(await postGraphQL(service.url, reader, QUERY)).toMatchObject({
        errors: [{ extensions: { code: 'FORBIDDEN' } }],
      });
      // The same state in /metrics, per target.
      const metrics = await (await fetch(String(service.metricsUrl))).text();
      for (const { kind, status } of targets) {
        const labels = `{space="${s.space}",target="${status.id}",kind="${kind}"}`;
        expect(metrics, kind).toContain(`stitchgraph_sync_lag_changes${labels} 0`);
        expect(metrics, kind).toContain(`stitchgraph_sync_failures${labels} 0`);
        expect(metrics, kind).toMatch(
          new RegExp(`stitchgraph_sync_rows${labels.replace(/[{}]/g, '\\$&')} [1-9]`),
        );
      }
    } finally {
      await service?.stop();
    }
  });
});
