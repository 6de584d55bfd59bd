// Event retention (SEMANTICS.md §12, docs/adr/0028-retention.md) against the real PostgreSQL and Neo4j: one
// space's old events deleted in batches while another space keeps everything, a month's partitions dropped
// once every space with events in it allows, deduplication claims going with the events (a resend is a new
// event), computed traits, account traits and audiences recomputed with cause `retention` and equal to the
// oracle's values from scratch, the read API no longer showing removed events, the metrics, and the setting
// over GraphQL with its refusals. Retention and the computed-traits worker run in this file's own database
// with a fake clock, so no other file's data holds a month back and no other file's worker recomputes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputedTraitsService, DEFAULT_COMPUTED_SETTINGS } from '../../src/computed/index.ts';
import { evaluateSubject, evaluationOrder, type Computation } from '../../src/computed/evaluate-subject.ts';
import { EventStore } from '../../src/events/index.ts';
import { parseAudience } from '../../src/language/index.ts';
import { Metrics } from '../../src/metrics/index.ts';
import type { Database } from '../../src/postgres/database.ts';
import { ProfilesService } from '../../src/profiles/index.ts';
import { RetentionService } from '../../src/retention/index.ts';
import type { Service } from '../../src/service.ts';
import { postGraphQL } from '../support/api.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import {
  accountOracleValues,
  oracleValues,
  parseAll,
  profileEvents,
  profileInput,
} from '../support/oracle.ts';
import { countRows, openPrivateDatabase } from '../support/postgres.ts';
import { startTestService } from '../support/service.ts';
import { newStack, type Stack } from '../support/stack.ts';
import { settleComputed } from '../support/computed.ts';

const DAY = 86_400_000;
const TRAITS: Record<string, string> = {
  orders: "event('Order Completed').count()",
  orders_90d: "event('Order Completed').within(90 days).count()",
  skus: "event('Order Completed').unique(property('sku'))",
};
const ACCOUNT_TRAITS: Record<string, string> = { acct_orders: "event('Order Completed').count()" };
const AUDIENCE = { key: 'loyal', text: "event('Order Completed').count() >= 4" };
const PARSED = parseAll(TRAITS);
const ACCOUNT_PARSED = parseAll(ACCOUNT_TRAITS);

let t: TestGraph;
let own: { db: Database; url: string; drop: () => Promise<void> };
/** Every partitioned table that holds a space's events (sql/migrations/0001-event-store.sql). */
const EVENT_TABLES = [
  'identifies',
  'tracks',
  'pages',
  'screens',
  'groups',
  'aliases',
  'event_identifiers',
  'event_violations',
];
let now = new Date('2030-01-05T12:00:00Z');
const clock = () => new Date(now.getTime());
let computed: ComputedTraitsService;
let retention: RetentionService;
let metrics: Metrics;

beforeAll(async () => {
  const shared = await openTestGraph();
  own = await openPrivateDatabase();
  t = { ...shared, db: own.db, close: shared.close };
  const profiles = new ProfilesService(t.graph, new EventStore(own.db));
  computed = new ComputedTraitsService(
    own.db,
    { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0 },
    clock,
    undefined,
    null,
    (space, level, ids) => profiles.customTraits(space, level, ids),
  );
  metrics = new Metrics();
  // Batches of 3, so that one space's old events take several transactions.
  retention = new RetentionService(
    own.db,
    (tx, space, ids) => computed.markRemoved(tx, space, ids, 'retention'),
    { intervalMs: 3_600_000, batchSize: 3 },
    clock,
    metrics.retention,
  );
});
afterAll(async () => {
  await retention.stop();
  await computed.stop();
  await own.drop();
  await t.close();
});

async function define(s: Stack): Promise<void> {
  for (const [key, definition] of Object.entries(TRAITS)) {
    const created = await computed.create(s.space, { key, definition, level: 'USERS', description: null });
    if (!created.ok) throw new Error(`${key}: ${created.message}`);
  }
  for (const [key, definition] of Object.entries(ACCOUNT_TRAITS)) {
    const created = await computed.create(s.space, { key, definition, level: 'ACCOUNTS', description: null });
    if (!created.ok) throw new Error(`${key}: ${created.message}`);
  }
  const audience = await computed.createAudience(s.space, {
    key: AUDIENCE.key,
    definition: AUDIENCE.text,
    level: 'USERS',
    includeAnonymous: false,
    description: null,
  });
  if (!audience.ok) throw new Error(`${AUDIENCE.key}: ${audience.message}`);
}

async function order(s: Stack, userId: string, messageId: string, sku: string, timestamp?: string) {
  const outcome = await s.send('track', {
    userId,
    event: 'Order Completed',
    properties: { sku },
    messageId,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
  expect(outcome.ok, messageId).toBe(true);
  return outcome;
}

async function profileOf(s: Stack, userId: string): Promise<string> {
  const { rows } = await own.db.pool.query<{ profile_id: string }>(
    'SELECT profile_id FROM identity_map WHERE space = $1 AND key = $2',
    [s.space, `user_id:${userId}`],
  );
  const id = rows[0]?.profile_id;
  if (id === undefined) throw new Error(`no profile for ${userId} in ${s.space}`);
  return id;
}

/** The stored values of a profile, with the audience as true / false. */
async function kept(s: Stack, profileId: string): Promise<Record<string, unknown>> {
  const values = await computed.values(s.space, [profileId]);
  const members = await computed.memberships(s.space, [profileId]);
  return {
    ...Object.fromEntries((values.get(profileId) ?? []).map((v) => [v.key, v.value])),
    [AUDIENCE.key]: (members.get(profileId) ?? []).some((m) => m.key === AUDIENCE.key),
  };
}

/** The oracle: every computed trait and the audience from scratch over the events the read API returns. */
async function expected(s: Stack, profileId: string): Promise<Record<string, unknown>> {
  const parsed = parseAudience(AUDIENCE.text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const computations: Computation[] = [
    ...PARSED.map((p) => ({ kind: 'computed_trait' as const, level: 'USERS' as const, ...p })),
    {
      kind: 'audience',
      key: AUDIENCE.key,
      level: 'USERS',
      definition: parsed.definition,
      includeAnonymous: false,
    },
  ];
  const order = evaluationOrder(computations);
  if ('cycle' in order) throw new Error('cycle');
  const audience = evaluateSubject(order.order, await profileInput(s, profileId), clock()).values;
  return {
    ...(await oracleValues(s, profileId, PARSED, clock())),
    [AUDIENCE.key]: audience.get(AUDIENCE.key),
  };
}

const count = (sql: string, params: unknown[]) => countRows(own.db, sql, params);
const tableExists = (name: string) => count('SELECT count(to_regclass($1))::int AS n', [name]);

describe('retention: batches of one space, another space keeping everything', () => {
  let a: Stack;
  let b: Stack;

  it('removes the old events of the space with retention, in batches, and recomputes what counted them', async () => {
    now = new Date('2030-01-05T12:00:00Z');
    a = await newStack(t, { clock });
    b = await newStack(t, { clock });
    for (const s of [a, b]) {
      await define(s);
      // January: two orders and a page of u1 (who joins account g1), one order of u2.
      await order(s, 'u1', 'jan-1', 's1');
      await order(s, 'u1', 'jan-2', 's2');
      expect((await s.send('page', { userId: 'u1', name: 'Home', messageId: 'jan-3' })).ok).toBe(true);
      expect((await s.send('group', { userId: 'u1', groupId: 'g1', messageId: 'jan-4' })).ok).toBe(true);
      await order(s, 'u2', 'jan-5', 's1');
    }
    now = new Date('2030-03-01T12:00:00Z');
    for (const s of [a, b]) {
      // March: two orders of u1, and one whose device clock says 2029 (received now: it stays).
      await order(s, 'u1', 'mar-1', 's3');
      await order(s, 'u1', 'mar-2', 's3');
      await order(s, 'u1', 'mar-3', 's4', '2029-01-01T00:00:00.000Z');
      await settleComputed(computed, s.space);
    }
    const u1 = await profileOf(a, 'u1');
    const u2 = await profileOf(a, 'u2');
    expect(await kept(a, u1)).toEqual({
      orders: 5,
      orders_90d: 4,
      skus: ['s1', 's2', 's3', 's4'],
      loyal: true,
    });

    expect((await retention.setRetention(a.space, 30)).ok).toBe(true);
    now = new Date('2030-03-10T12:00:00Z');
    const cutoff = new Date(now.getTime() - 30 * DAY);
    const run = await retention.runOnce();
    // A's five January events, in batches of 3; B keeps its own (no retention) and so January's partitions.
    expect(run.eventsRemoved).toBe(5);
    expect(run.batches).toBe(2);
    expect(run.monthsDropped).not.toContain('2030-01-01');
    expect(await tableExists('tracks_2030_01')).toBe(1);
    const old = [a.space, cutoff.toISOString()];
    expect(
      await count('SELECT count(*)::int AS n FROM message_ids WHERE space = $1 AND received_at < $2', old),
    ).toBe(0);
    for (const table of EVENT_TABLES)
      expect(
        await count(`SELECT count(*)::int AS n FROM ${table} WHERE space = $1 AND received_at < $2`, old),
        table,
      ).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM tracks WHERE space = $1', [a.space])).toBe(3);
    expect(await count('SELECT count(*)::int AS n FROM message_ids WHERE space = $1', [b.space])).toBe(8);

    await settleComputed(computed, a.space);
    await settleComputed(computed, b.space);
    // Recomputed without them, and equal to the oracle over what the read API returns.
    expect(await kept(a, u1)).toEqual({ orders: 3, orders_90d: 2, skus: ['s3', 's4'], loyal: false });
    expect(await kept(a, u1)).toEqual(await expected(a, u1));
    expect(await kept(a, u2)).toEqual({ orders: 0, orders_90d: 0, skus: [], loyal: false });
    expect(await kept(a, u2)).toEqual(await expected(a, u2));
    expect((await profileEvents(a, u1)).map((e) => e.messageId).sort()).toEqual(['mar-1', 'mar-2', 'mar-3']);
    // The account keeps its member (a membership is not an event) and counts what is left.
    const accountValues = await computed.values(a.space, ['g1'], 'ACCOUNTS');
    expect(Object.fromEntries((accountValues.get('g1') ?? []).map((v) => [v.key, v.value]))).toEqual(
      await accountOracleValues(a, 'g1', ACCOUNT_PARSED, clock()),
    );
    expect(await accountOracleValues(a, 'g1', ACCOUNT_PARSED, clock())).toEqual({ acct_orders: 3 });
    // The change log says why.
    const changes = await computed.changes(a.space, u1, 100);
    expect(changes.find((c) => c.traitKey === 'orders' && c.newValue === 3)?.cause).toBe('retention');
    const exits = await computed.audienceChanges(a.space, AUDIENCE.key, { first: 100, before: null });
    expect(exits.changes.find((c) => c.subjectId === u1 && !c.entered)?.cause).toBe('retention');

    // The other space is untouched.
    const b1 = await profileOf(b, 'u1');
    expect(await kept(b, b1)).toEqual({
      orders: 5,
      orders_90d: 4,
      skus: ['s1', 's2', 's3', 's4'],
      loyal: true,
    });
    expect(await kept(b, b1)).toEqual(await expected(b, b1));

    const text = await metrics.registry.metrics();
    expect(text).toContain('stitchgraph_retention_events_removed_total{path="batch"} 5');
  });

  it('takes the deduplication claims with the events: a resend of a removed messageId is a new event', async () => {
    const resent = await order(a, 'u1', 'jan-1', 's1');
    expect(resent.duplicate).toBe(false);
    const again = await order(b, 'u1', 'jan-1', 's1');
    expect(again.duplicate).toBe(true);
    await settleComputed(computed, a.space);
    const u1 = await profileOf(a, 'u1');
    expect(await kept(a, u1)).toEqual({ orders: 4, orders_90d: 3, skus: ['s1', 's3', 's4'], loyal: true });
    expect(await kept(a, u1)).toEqual(await expected(a, u1));
    // Received now, it is kept by the next run.
    expect((await retention.runOnce()).eventsRemoved).toBe(0);
  });

  it('drops a month whole once every space with events in it allows, blocked by one that does not', async () => {
    now = new Date('2031-01-10T12:00:00Z');
    // C has the traits; D and E only events.
    const c = await newStack(t, { clock });
    const d = await newStack(t, { clock });
    const e = await newStack(t, { clock });
    await define(c);
    for (const s of [c, d, e]) {
      await order(s, 'u1', 'old-1', 's1');
      await order(s, 'u1', 'old-2', 's2');
      expect(
        (await s.send('identify', { userId: 'u1', traits: { plan: 'pro' }, messageId: 'old-3' })).ok,
      ).toBe(true);
    }
    await settleComputed(computed, c.space);
    const u1 = await profileOf(c, 'u1');
    expect(await kept(c, u1)).toMatchObject({ orders: 2 });
    expect(await tableExists('tracks_2031_01')).toBe(1);

    // At April 15, E (30 days) allows January; C (100) and D (120) keep part of it, so January waits for
    // them, and E's rows there go by batch.
    expect((await retention.setRetention(c.space, 100)).ok).toBe(true);
    expect((await retention.setRetention(d.space, 120)).ok).toBe(true);
    expect((await retention.setRetention(e.space, 30)).ok).toBe(true);
    now = new Date('2031-04-15T12:00:00Z');
    const first = await retention.runOnce();
    expect(first.monthsDropped).not.toContain('2031-01-01');
    expect(await tableExists('tracks_2031_01')).toBe(1);
    const claims = (s: Stack) =>
      count('SELECT count(*)::int AS n FROM message_ids WHERE space = $1', [s.space]);
    expect(await claims(e)).toBe(0);
    expect(await claims(c)).toBe(3);
    expect(await claims(d)).toBe(3);

    // Once C and D allow it too, the month's partitions go, with every claim of the month.
    expect((await retention.setRetention(c.space, 60)).ok).toBe(true);
    expect((await retention.setRetention(d.space, 60)).ok).toBe(true);
    const before = await count('SELECT count(*)::int AS n FROM message_ids', []);
    const second = await retention.runOnce();
    expect(second.monthsDropped).toContain('2031-01-01');
    expect(second.partitionsDropped).toBeGreaterThanOrEqual(8);
    expect(second.batches).toBe(0);
    for (const table of EVENT_TABLES) expect(await tableExists(`${table}_2031_01`), table).toBe(0);
    expect(await claims(c)).toBe(0);
    expect(await claims(d)).toBe(0);
    expect(before - (await count('SELECT count(*)::int AS n FROM message_ids', []))).toBe(6);
    // B keeps everything, so its months stay; A's rows there went by batch instead.
    expect(await tableExists('tracks_2030_01')).toBe(1);
    expect(await tableExists('tracks_2030_03')).toBe(1);
    expect(await claims(b)).toBe(8);
    expect(await claims(a)).toBe(0);

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/stitchgraph_retention_partitions_dropped_total \d+/);
    expect(text).toContain('stitchgraph_retention_events_removed_total{path="partition"} 6');

    // The drop marked C's profile: its values are recomputed to nothing, for that reason.
    await settleComputed(computed, c.space);
    expect(await kept(c, u1)).toEqual({ orders: 0, orders_90d: 0, skus: [], loyal: false });
    expect(await kept(c, u1)).toEqual(await expected(c, u1));
    const changes = await computed.changes(c.space, u1, 100);
    // Newest first: the last change of `orders` (2 to the empty value) names retention.
    expect(changes.find((ch) => ch.traitKey === 'orders')).toMatchObject({ oldValue: 2, cause: 'retention' });
    expect(await profileEvents(c, u1)).toEqual([]);
    // Identity stays: the profile and its traits outlive the events that set them.
    const traits = await c.profiles.customTraits(c.space, 'USERS', [u1]);
    expect(traits.get(u1)).toMatchObject({ plan: 'pro' });

    // A month's events arriving again (a replay with the server clock back there) find a partition anew.
    now = new Date('2031-01-20T12:00:00Z');
    expect((await order(d, 'u1', 'old-1', 's1')).duplicate).toBe(false);
    expect(await tableExists('tracks_2031_01')).toBe(1);
  });

  it('leaves the Profile API only the kept events, and the recomputed values', async () => {
    await settleComputed(computed, a.space);
    await settleComputed(computed, b.space);
    // The real service on this file's database, after every assertion on the fake clock: its worker
    // finds nothing due, and its retention runs only an hour after its start.
    const service = await startTestService({ DATABASE_URL: own.url });
    try {
      const read = async (s: Stack, path: string) => {
        const reader = (await service.services.spaces.createKey(s.space, 'token')).secret;
        const res = await fetch(
          `${service.url}/v1/spaces/${s.space}/collections/users/profiles/user_id:u1/${path}`,
          { headers: { authorization: `Basic ${Buffer.from(`${reader}:`).toString('base64')}` } },
        );
        expect(res.status).toBe(200);
        return (await res.json()) as { data?: { message_id: string }[]; traits?: Record<string, unknown> };
      };
      // A kept 30 days: by April 2031 every event of u1 is gone; its values are recomputed to nothing.
      expect((await read(a, 'events?limit=100')).data).toEqual([]);
      expect((await read(a, 'traits?class=computed_trait')).traits).toMatchObject({ orders: 0, skus: [] });
      // B keeps everything.
      expect(((await read(b, 'events?limit=100')).data ?? []).map((e) => e.message_id).sort()).toEqual([
        'jan-1',
        'jan-2',
        'jan-3',
        'jan-4',
        'mar-1',
        'mar-2',
        'mar-3',
      ]);
      expect((await read(b, 'traits?class=computed_trait')).traits).toMatchObject({ orders: 5 });
    } finally {
      await service.stop();
    }
  });
});

describe('retention: the setting over GraphQL', () => {
  let service: Service;
  const space = `retention-${randomUUID().slice(0, 8)}`;
  let admin: string;
  let reader: string;

  beforeAll(async () => {
    service = await startTestService();
    await service.services.spaces.createSpace(space);
    admin = (await service.services.spaces.createKey(space, 'token', { scopes: ['read', 'admin'] })).secret;
    reader = (await service.services.spaces.createKey(space, 'token')).secret;
  });
  afterAll(async () => {
    // The shared database keeps no retention of this file's: other files' months are theirs.
    await service.services.retention.setRetention(space, null);
    await service.stop();
  });

  const READ = '{ eventRetention { retentionDays keepsSince updatedAt } }';
  const SET = `mutation ($days: Int) {
    setEventRetention(retentionDays: $days) {
      ok retention { retentionDays keepsSince } errors { code message path }
    }
  }`;

  it('is forever until set, refuses bad values with the field, and needs the admin scope', async () => {
    expect(await postGraphQL(service.url, reader, READ)).toEqual({
      data: { eventRetention: { retentionDays: null, keepsSince: null, updatedAt: null } },
    });
    for (const days of [0, -3, 3651]) {
      const refused = (await postGraphQL(service.url, admin, SET, { days })) as {
        data: {
          setEventRetention: { ok: boolean; retention: unknown; errors: { code: string; path: unknown[] }[] };
        };
      };
      expect(refused.data.setEventRetention.ok, String(days)).toBe(false);
      expect(refused.data.setEventRetention.retention).toEqual({ retentionDays: null, keepsSince: null });
      expect(refused.data.setEventRetention.errors).toMatchObject([
        { code: 'VALIDATION_FAILED', path: ['retentionDays'] },
      ]);
    }
    const forbidden = await postGraphQL(service.url, reader, SET, { days: 30 });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const set = (await postGraphQL(service.url, admin, SET, { days: 30 })) as {
      data: { setEventRetention: { ok: boolean; retention: { retentionDays: number; keepsSince: string } } };
    };
    expect(set.data.setEventRetention.ok).toBe(true);
    expect(set.data.setEventRetention.retention.retentionDays).toBe(30);
    const since = Date.parse(set.data.setEventRetention.retention.keepsSince);
    expect(since).toBeLessThan(Date.now() - 29 * DAY);
    expect(since).toBeGreaterThan(Date.now() - 31 * DAY);
    const read = (await postGraphQL(service.url, reader, READ)) as {
      data: { eventRetention: { retentionDays: number; updatedAt: string } };
    };
    expect(read.data.eventRetention.retentionDays).toBe(30);
    expect(Number.isNaN(Date.parse(read.data.eventRetention.updatedAt))).toBe(false);

    const cleared = (await postGraphQL(service.url, admin, SET, { days: null })) as {
      data: { setEventRetention: { ok: boolean; retention: { retentionDays: number | null } } };
    };
    expect(cleared.data.setEventRetention).toMatchObject({ ok: true, retention: { retentionDays: null } });
  });

  it('refuses a fraction at the service too (GraphQL Int takes none)', async () => {
    const refused = await service.services.retention.setRetention(space, 1.5);
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', path: ['retentionDays'] },
    });
  });
});
