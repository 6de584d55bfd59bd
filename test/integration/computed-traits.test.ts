// Computed traits against the real stores (SEMANTICS.md §9, docs/adr/0021-computed-traits.md): values kept
// from the change log equal the oracle's (src/language's computeTrait over the profile's events), through
// merges and windows; definitions are refused as data; keys are never reused. The worker runs in a
// database of this file's own, so no other file's service recomputes with another clock.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ComputedTraitsService, DEFAULT_COMPUTED_SETTINGS } from '../../src/computed/index.ts';
import type { Database } from '../../src/postgres/database.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { oracleValues, parseAll } from '../support/oracle.ts';
import { countRows, openDatabaseAt, openPrivateDatabase } from '../support/postgres.ts';
import { settleComputed } from '../support/computed.ts';
import { newStack, type Stack } from '../support/stack.ts';

let t: TestGraph;
let own: { db: Database; url: string; drop: () => Promise<void> };
let now = new Date('2026-03-01T00:00:00Z');
const clock = () => new Date(now.getTime());
let computed: ComputedTraitsService;

beforeAll(async () => {
  const shared = await openTestGraph();
  own = await openPrivateDatabase();
  t = { ...shared, db: own.db, close: shared.close };
  computed = new ComputedTraitsService(own.db, { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0 }, clock);
});
afterAll(async () => {
  await computed.stop();
  await own.drop();
  await t.close();
});

const DEFINITIONS = {
  orders_30d: "event('Order Completed').within(30 days).count()",
  big_orders: "event('Order Completed').where(property('total') >= 100).count()",
  revenue: "event('Order Completed').sum(property('total'))",
  last_sku: "event('Order Completed').last(property('sku'))",
  skus: "event('Order Completed').unique(property('sku'))",
  top_path: "event('Page Viewed').mode(property('path'), 2)",
};

async function define(stack: Stack): Promise<void> {
  for (const [key, definition] of Object.entries(DEFINITIONS)) {
    const created = await computed.create(stack.space, {
      key,
      definition,
      level: 'USERS',
      description: null,
    });
    // A small space's backfill may be done by the time create answers.
    expect(created).toMatchObject({
      ok: true,
      trait: { key, status: expect.stringMatching(/^(COMPUTING|LIVE)$/) },
    });
  }
}

/** The oracle: each trait computed from scratch over the profile's events as the read API returns them. */
function oracle(stack: Stack, profileId: string): Promise<Record<string, unknown>> {
  return oracleValues(stack, profileId, parseAll(DEFINITIONS), clock());
}

/** Creates a user-level computed trait through `service` (the file's worker unless given) and expects it taken. */
async function createTrait(
  space: string,
  key: string,
  definition: string,
  service: ComputedTraitsService = computed,
): Promise<void> {
  expect(await service.create(space, { key, definition, level: 'USERS', description: null })).toMatchObject({
    ok: true,
  });
}

/** A new definition for an audience, keeping its include anonymous and description. */
const redefine = (space: string, key: string, definition: string) =>
  computed.updateAudience(space, { key, definition, includeAnonymous: null, description: null });

async function stored(stack: Stack, profileId: string): Promise<Record<string, unknown>> {
  const values = (await computed.values(stack.space, [profileId])).get(profileId) ?? [];
  return Object.fromEntries(values.map((v) => [v.key, v.value]));
}

const order = (userId: string, messageId: string, at: string, total: number, sku: string) => ({
  userId,
  event: 'Order Completed',
  properties: { total, sku },
  messageId,
  timestamp: at,
});

describe('computed traits', () => {
  it('computes history, follows new events, combines merged profiles and ages windows out', async () => {
    const s = await newStack(t, { clock });
    const a = await s.send('track', order('ct-a', 'o1', '2026-02-20T00:00:00Z', 120, 'sku-1'));
    await s.send('track', order('ct-a', 'o2', '2026-01-10T00:00:00Z', 30, 'sku-2'));
    const anon = await s.send('page', {
      anonymousId: 'ct-anon',
      properties: { path: '/docs' },
      messageId: 'p1',
      timestamp: '2026-02-25T00:00:00Z',
    });
    await s.send('page', {
      anonymousId: 'ct-anon',
      properties: { path: '/docs' },
      messageId: 'p2',
      timestamp: '2026-02-26T00:00:00Z',
    });
    await s.send('track', {
      anonymousId: 'ct-anon',
      event: 'Order Completed',
      properties: { total: 5, sku: 'sku-0' },
      messageId: 'o0',
      timestamp: '2026-02-27T00:00:00Z',
    });

    await define(s);
    await computed.catchUp();
    // Backfill runs in the background; wait for it to finish.
    for (let i = 0; i < 100 && (await computed.list(s.space)).some((c) => c.status !== 'LIVE'); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await computed.list(s.space)).map((c) => [c.key, c.status, c.progress])).toEqual(
      Object.keys(DEFINITIONS)
        .sort()
        .map((k) => [k, 'LIVE', 1]),
    );
    const profileA = a.ok ? (a.profileId ?? '') : '';
    expect(await stored(s, profileA)).toEqual({
      orders_30d: 1,
      big_orders: 1,
      revenue: 150,
      last_sku: 'sku-1',
      skus: ['sku-1', 'sku-2'],
      top_path: null,
    });
    expect(await stored(s, profileA)).toEqual(await oracle(s, profileA));

    // A new event is reflected after a drain.
    await s.send('track', order('ct-a', 'o3', '2026-02-28T00:00:00Z', 200, 'sku-3'));
    await computed.catchUp();
    expect(await stored(s, profileA)).toMatchObject({
      orders_30d: 2,
      big_orders: 2,
      revenue: 350,
      last_sku: 'sku-3',
    });

    // The anonymous visitor identifies as ct-a: the profiles merge, and the values cover both histories.
    await s.send('identify', {
      userId: 'ct-a',
      anonymousId: 'ct-anon',
      messageId: 'join',
      timestamp: '2026-02-28T12:00:00Z',
    });
    await computed.catchUp();
    const merged = await s.profiles.profileBy(s.space, 'user_id', 'ct-a');
    const live = merged?.id ?? '';
    expect(await stored(s, live)).toEqual({
      orders_30d: 3,
      big_orders: 2,
      revenue: 355,
      last_sku: 'sku-3',
      skus: ['sku-0', 'sku-1', 'sku-2', 'sku-3'],
      top_path: '/docs',
    });
    expect(await stored(s, live)).toEqual(await oracle(s, live));
    // The merged-away profile keeps no values of its own.
    const gone = [a.ok ? a.profileId : null, anon.ok ? anon.profileId : null].filter((id) => id !== live);
    expect(gone).toHaveLength(1);
    const { rows: left } = await own.db.pool.query(
      'SELECT subject_id FROM computed_values WHERE subject_id = ANY($1)',
      [gone],
    );
    expect(left).toEqual([]);

    // Later, without any event, the windowed count drops as its events age out: on 28 March the window
    // holds o0 (27 Feb) and o3 (28 Feb) but no longer o1 (20 Feb).
    now = new Date('2026-03-28T00:00:00Z');
    await computed.catchUp();
    expect(await stored(s, live)).toMatchObject({ orders_30d: 2 });
    expect(await stored(s, live)).toEqual(await oracle(s, live));

    // Every change is recorded, newest first, with its cause.
    const changes = await computed.changes(s.space, live, 50);
    expect(changes[0]).toMatchObject({ traitKey: 'orders_30d', oldValue: 3, newValue: 2, cause: 'window' });
    expect(
      // Whichever profile survives, its revenue moves to both histories' 355 because of the merge.
      changes.some((c) => c.cause === 'merge' && c.traitKey === 'revenue' && c.newValue === 355),
    ).toBe(true);
    // o3's change was recorded for ct-a's profile, which may be the one merged away since.
    const beforeMerge = await computed.changes(s.space, profileA, 50);
    expect(beforeMerge.some((c) => c.cause === 'event' && c.messageId === 'o3')).toBe(true);
  });

  it('refuses bad definitions and keys as data, and never reuses a key', async () => {
    const s = await newStack(t, { clock });
    const bad = await computed.create(s.space, {
      key: 'bad',
      definition: "event('Order Completed').sum('total')",
      level: 'USERS',
      description: null,
    });
    expect(bad).toMatchObject({ ok: false, code: 'INVALID_DEFINITION', position: { line: 1 } });
    expect(
      await computed.create(s.space, {
        key: 'Bad Key',
        definition: DEFINITIONS.revenue,
        level: 'USERS',
        description: null,
      }),
    ).toMatchObject({ ok: false, code: 'INVALID_KEY' });
    expect(
      await computed.create(s.space, {
        key: 'revenue',
        definition: DEFINITIONS.revenue,
        level: 'USERS',
        description: 'x',
      }),
    ).toMatchObject({ ok: true });
    expect(await computed.delete(s.space, 'revenue')).toEqual({ level: 'USERS', values: [] });
    expect(await computed.list(s.space)).toEqual([]);
    expect(
      await computed.create(s.space, {
        key: 'revenue',
        definition: DEFINITIONS.revenue,
        level: 'USERS',
        description: null,
      }),
    ).toMatchObject({ ok: false, code: 'KEY_TAKEN' });
    expect(await computed.delete(s.space, 'unknown')).toBeNull();
  });

  it('a value that the clock alone changes, from the empty value too, changes without any event', async () => {
    const s = await newStack(t, { clock });
    const timed = new ComputedTraitsService(
      own.db,
      { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0 },
      clock,
    );
    const created = await timed.create(s.space, {
      key: 'due_soon',
      definition: "event('Invoice Sent').where(property('due').within_next(1 days)).count()",
      level: 'USERS',
      description: null,
    });
    expect(created.ok).toBe(true);
    // Its empty value is null: kept as JSON null while a date may bring it into range.
    const amount = await timed.create(s.space, {
      key: 'due_amount',
      definition: "event('Invoice Sent').where(property('due').within_next(1 days)).last(property('amount'))",
      level: 'USERS',
      description: null,
    });
    expect(amount.ok).toBe(true);
    for (let i = 0; i < 100 && (await timed.list(s.space)).some((c) => c.status !== 'LIVE'); i++)
      await new Promise((r) => setTimeout(r, 50));
    const start = now.getTime();
    const due = new Date(start + 3 * 24 * 3_600_000).toISOString();
    const sent = await s.send('track', {
      userId: 'ct-due',
      event: 'Invoice Sent',
      properties: { due, amount: 30 },
      messageId: 'inv-1',
      timestamp: new Date(start).toISOString(),
    });
    const profileId = sent.ok ? (sent.profileId ?? '') : '';
    const valueAt = async (hours: number) => {
      now = new Date(start + hours * 3_600_000);
      await timed.catchUp();
      const values = (await timed.values(s.space, [profileId])).get(profileId) ?? [];
      return Object.fromEntries(values.map((v) => [v.key, v.value]));
    };
    expect(await valueAt(0)).toEqual({ due_amount: null, due_soon: 0 });
    expect(await valueAt(47)).toEqual({ due_amount: null, due_soon: 0 });
    expect(await valueAt(49)).toEqual({ due_amount: 30, due_soon: 1 }); // due within a day now
    expect(await valueAt(73)).toEqual({ due_amount: null, due_soon: 0 }); // due has passed
    expect(
      (await timed.changes(s.space, profileId, 10)).map((c) => [c.traitKey, c.oldValue, c.newValue, c.cause]),
    ).toEqual(
      expect.arrayContaining([
        ['due_soon', 1, null, 'window'],
        ['due_soon', null, 1, 'window'],
        ['due_amount', 30, null, 'window'],
        ['due_amount', null, 30, 'window'],
      ]),
    );
    expect(await timed.changes(s.space, profileId, 10)).toHaveLength(4);
    now = new Date(start);
    await timed.stop();
  });

  it('a deletion whose graph write fails loses no value: a second request finishes it', async () => {
    const s = await newStack(t, { clock });
    const sent = await s.send('track', order('ct-del', 'd1', '2026-02-20T00:00:00Z', 70, 'sku-1'));
    const profileId = sent.ok ? (sent.profileId ?? '') : '';
    const kept: { level: string; writes: unknown[] }[] = [];
    let failNext = true;
    const deleting = new ComputedTraitsService(
      own.db,
      { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0 },
      clock,
      () => undefined,
      (_space, level, writes) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('graph unavailable'));
        }
        kept.push({ level, writes });
        return Promise.resolve(writes.length);
      },
    );
    const created = await deleting.create(s.space, {
      key: 'revenue',
      definition: DEFINITIONS.revenue,
      level: 'USERS',
      description: null,
    });
    expect(created.ok).toBe(true);
    for (let i = 0; i < 100 && (await deleting.get(s.space, 'revenue'))?.status !== 'LIVE'; i++)
      await new Promise((r) => setTimeout(r, 50));

    await expect(deleting.deleteKeepingValues(s.space, 'revenue')).rejects.toThrow('graph unavailable');
    // Deleted (not listed, not computed), but the value is still held for the retry.
    expect(await deleting.get(s.space, 'revenue')).toBeNull();
    expect(await deleting.deleteKeepingValues(s.space, 'revenue')).toEqual({ keptOnProfiles: 1 });
    expect(kept).toEqual([{ level: 'USERS', writes: [{ subjectId: profileId, traits: { revenue: 70 } }] }]);
    // Finished: nothing is left to keep, and the key stays taken.
    expect(await deleting.deleteKeepingValues(s.space, 'revenue')).toBeNull();
    const { rows } = await own.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM computed_values WHERE space = $1',
      [s.space],
    );
    expect(rows[0]?.n).toBe(0);
    await deleting.stop();
  });

  it('refuses more traits per space and more conditions per definition than configured', async () => {
    const s = await newStack(t, { clock });
    const limited = new ComputedTraitsService(
      own.db,
      { ...DEFAULT_COMPUTED_SETTINGS, maxTraitsPerSpace: 2, maxExpressions: 3 },
      clock,
    );
    const define = (key: string, definition: string) =>
      limited.create(s.space, { key, definition, level: 'USERS', description: null });
    const conditions = (n: number) =>
      `event('Order Completed').where(${Array.from({ length: n }, (_, i) => `property('p${i}') = ${i}`).join(' OR ')}).count()`;
    expect(await define('three', conditions(3))).toMatchObject({ ok: true });
    expect(await define('four', conditions(4))).toEqual({
      ok: false,
      code: 'TOO_MANY_EXPRESSIONS',
      message: 'the definition has 4 property conditions; at most 3 are allowed (COMPUTED_TRAIT_EXPRESSIONS)',
    });
    expect(await define('second', DEFINITIONS.revenue)).toMatchObject({ ok: true });
    expect(await define('third', DEFINITIONS.revenue)).toMatchObject({
      ok: false,
      code: 'TOO_MANY_TRAITS',
    });
    // A deleted trait no longer counts.
    expect(await limited.delete(s.space, 'second')).toMatchObject({ level: 'USERS' });
    expect(await define('third', DEFINITIONS.revenue)).toMatchObject({ ok: true });
    await limited.stop();
  });
  it('an event recomputes only the traits reading its stream, and a call no trait reads recomputes nothing', async () => {
    const s = await newStack(t, { clock });
    const a = await s.send('track', order('ct-only', 'only-o1', '2026-02-20T00:00:00Z', 120, 'sku-1'));
    const profileA = a.ok ? (a.profileId ?? '') : '';
    await define(s);
    await settleComputed(computed, s.space);
    const before = await computed.values(s.space, [profileA]);

    // An identify with what the profile holds already, and a track that no trait reads: nothing to do.
    await s.send('identify', { userId: 'ct-only', traits: { plan: 'pro' }, messageId: 'only-i1' });
    await s.send('track', { userId: 'ct-only', event: 'Video Played', messageId: 'only-v1' });
    expect((await computed.catchUp()).recomputed).toBe(0);

    // A page: the profile is recomputed for top_path alone; the other values stay as they were.
    for (const [id, day] of [
      ['only-p1', '25'],
      ['only-p2', '26'],
    ])
      await s.send('page', {
        userId: 'ct-only',
        properties: { path: '/pricing' },
        messageId: id,
        timestamp: `2026-02-${day}T00:00:00Z`,
      });
    expect((await computed.catchUp()).recomputed).toBe(1);
    const after = await computed.values(s.space, [profileA]);
    const top = after.get(profileA)?.find((v) => v.key === 'top_path');
    expect(top?.value).toBe('/pricing');
    const others = (list: typeof after) =>
      (list.get(profileA) ?? []).filter((v) => v.key !== 'top_path').map((v) => [v.key, v.updatedAt]);
    expect(others(after)).toEqual(others(before));

    // An order moves the order traits, and every value still equals the oracle.
    await s.send('track', order('ct-only', 'only-o2', '2026-02-27T00:00:00Z', 40, 'sku-2'));
    expect((await computed.catchUp()).recomputed).toBe(1);
    expect(await stored(s, profileA)).toEqual(await oracle(s, profileA));
    expect((await stored(s, profileA)).revenue).toBe(160);
  });
  it('an audience evaluates what it refers to from current events, so a value past its instant never makes it flicker', async () => {
    // A worker whose sweep has not come yet: values whose window passed are still stored as they were.
    const unswept = new ComputedTraitsService(
      own.db,
      { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: Number.MAX_SAFE_INTEGER },
      clock,
    );
    now = new Date('2026-04-10T00:00:00Z');
    const s = await newStack(t, { clock });
    const a = await s.send('track', order('ct-stale', 'stale-o1', '2026-04-09T12:00:00Z', 50, 'sku-1'));
    const profile = a.ok ? (a.profileId ?? '') : '';
    await createTrait(s.space, 'orders_1d', "event('Order Completed').within(1 days).count()");
    // Moved by pages; orders_1d, which it refers to, is not, but is evaluated with it from the events.
    expect(
      await computed.createAudience(s.space, {
        key: 'hot',
        definition: "trait('orders_1d') >= 1 AND event('Page Viewed').count() >= 1",
        level: 'USERS',
        includeAnonymous: false,
        description: null,
      }),
    ).toMatchObject({ ok: true });
    await settleComputed(computed, s.space);
    expect(await stored(s, profile)).toMatchObject({ orders_1d: 1 });

    // A day and a half later the order has left the window, but no sweep has recomputed orders_1d. A page
    // moves hot: orders_1d is evaluated again (the stored 1 is past its instant), and hot stays out.
    now = new Date('2026-04-11T12:00:00Z');
    await s.send('page', { userId: 'ct-stale', messageId: 'stale-p1', timestamp: '2026-04-11T11:00:00Z' });
    await unswept.catchUp();
    expect(await stored(s, profile)).toMatchObject({ orders_1d: 0 });
    expect((await computed.memberships(s.space, [profile])).get(profile)).toEqual([]);
    expect((await computed.audienceChanges(s.space, 'hot', { first: 10, before: null })).changes).toEqual([]);

    // An order now: hot is moved with orders_1d and enters, once.
    await s.send('track', order('ct-stale', 'stale-o2', '2026-04-11T11:30:00Z', 20, 'sku-2'));
    await unswept.catchUp();
    expect((await computed.memberships(s.space, [profile])).get(profile)?.map((m) => m.key)).toEqual(['hot']);
    expect(
      (await computed.audienceChanges(s.space, 'hot', { first: 10, before: null })).changes,
    ).toHaveLength(1);
    await unswept.stop();
  });
  it("reads a profile's events month by month, through each identifier's months, in any session time zone", async () => {
    const s = await newStack(t, { clock });
    const user = 'ct-months';
    const anon = 'ct-months-anon';
    // Received on the last hour of January, the first of March and the last minute of March (UTC).
    now = new Date('2026-01-31T23:00:00Z');
    await s.send('track', { ...order(user, 'mo-1', '2026-01-31T22:00:00Z', 10, 'a'), anonymousId: anon });
    now = new Date('2026-03-01T00:30:00Z');
    await s.send('track', order(user, 'mo-2', '2026-03-01T00:10:00Z', 20, 'b'));
    now = new Date('2026-03-31T23:59:00Z');
    const last = await s.send('track', {
      anonymousId: anon,
      event: 'Order Completed',
      properties: { total: 30, sku: 'c' },
      messageId: 'mo-3',
      timestamp: '2026-03-31T23:58:00Z',
    });
    const profile = last.ok ? (last.profileId ?? '') : '';
    now = new Date('2026-04-01T00:30:00Z');
    const month = (key: string, at: string) =>
      countRows(
        own.db,
        `SELECT count(*)::int AS n FROM identifier_months WHERE space = $1 AND key = $2 AND type = 'track'
           AND name = 'Order Completed' AND month = $3`,
        [s.space, key, at],
      );
    for (const key of [`user_id:${user}`, `anonymous_id:${anon}`])
      for (const at of ['2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z']) expect(await month(key, at)).toBe(1);
    expect(await month(`user_id:${user}`, '2026-02-01T00:00:00Z')).toBe(0);

    // A worker whose sessions run in Los Angeles' time zone: a month's end must still be UTC's.
    const url = new URL(own.url);
    url.searchParams.set('options', '-c TimeZone=America/Los_Angeles');
    const la = await openDatabaseAt(url.toString());
    const worker = new ComputedTraitsService(la, { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0 }, clock);
    try {
      for (const [key, definition] of Object.entries({
        months_revenue: "event('Order Completed').sum(property('total'))",
        months_orders_60d: "event('Order Completed').within(60 days).count()",
      }))
        expect(
          await worker.create(s.space, { key, definition, level: 'USERS', description: null }),
        ).toMatchObject({
          ok: true,
        });
      for (let i = 0; i < 100 && (await worker.list(s.space)).some((c) => c.status !== 'LIVE'); i++)
        await new Promise((r) => setTimeout(r, 50));
      await worker.catchUp();
      expect(await stored(s, profile)).toMatchObject({ months_revenue: 60, months_orders_60d: 3 });
      // A new order marks the profile: the recomputation reads the three months' events again.
      now = new Date('2026-04-01T01:00:00Z');
      await s.send('track', order(user, 'mo-4', '2026-04-01T00:50:00Z', 40, 'd'));
      await worker.catchUp();
      expect(await stored(s, profile)).toMatchObject({ months_revenue: 100, months_orders_60d: 4 });
    } finally {
      await worker.stop();
      await la.close();
    }
  });
  it('counts events from before 1970 in a trait without a window, as the oracle does', async () => {
    now = new Date('2026-05-01T00:00:00Z');
    const s = await newStack(t, { clock });
    const first = await s.send('track', order('ct-1969', 'old-o1', '1969-07-20T20:17:00Z', 69, 'eagle'));
    await s.send('track', order('ct-1969', 'old-o2', '2026-04-30T00:00:00Z', 1, 'now'));
    const profile = first.ok ? (first.profileId ?? '') : '';
    await createTrait(s.space, 'lifetime_total', "event('Order Completed').sum(property('total'))");
    await settleComputed(computed, s.space);
    expect(await stored(s, profile)).toMatchObject({ lifetime_total: 70 });
    const preview = await computed.previewAudience(s.space, {
      definition: "event('Order Completed').where(property('total') = 69).count() >= 1",
      level: 'USERS',
      includeAnonymous: true,
      sample: 10,
    });
    expect(preview).toMatchObject({ ok: true, size: 1 });
  });
  it('a changed or new definition moves the audiences that refer to it on every profile', async () => {
    now = new Date('2026-06-01T00:00:00Z');
    const s = await newStack(t, { clock });
    const sent = await s.send('track', order('ct-deps', 'deps-o1', '2026-05-30T00:00:00Z', 15, 'a'));
    const profile = sent.ok ? (sent.profileId ?? '') : '';
    const audience = (key: string, definition: string) =>
      computed.createAudience(s.space, {
        key,
        definition,
        level: 'USERS',
        includeAnonymous: true,
        description: null,
      });
    const live = () => settleComputed(computed, s.space);
    const member = async () =>
      ((await computed.memberships(s.space, [profile])).get(profile) ?? []).map((m) => m.key).sort();
    expect(await audience('deps_buyers', "event('Order Completed').count() >= 1")).toMatchObject({
      ok: true,
    });
    expect(await audience('deps_loyal', "trait('deps_buyers') = true")).toMatchObject({ ok: true });
    // deps_total is no computation yet: a custom trait, which this profile does not have.
    expect(await audience('deps_big', "trait('deps_total') >= 10")).toMatchObject({ ok: true });
    await live();
    expect(await member()).toEqual(['deps_buyers', 'deps_loyal']);

    // Two orders now: the profile leaves deps_buyers, and deps_loyal with it, though nothing touched it.
    expect(await redefine(s.space, 'deps_buyers', "event('Order Completed').count() >= 2")).toMatchObject({
      ok: true,
    });
    await live();
    expect(await member()).toEqual([]);

    // A computed trait of the key deps_big reads: its backfill moves deps_big too.
    await createTrait(s.space, 'deps_total', "event('Order Completed').sum(property('total'))");
    await live();
    expect(await member()).toEqual(['deps_big']);

    // Deleting an audience others refer to: they read its key as a custom trait now, which no one has.
    expect(await audience('deps_big_too', "trait('deps_big') = true")).toMatchObject({ ok: true });
    await live();
    expect(await member()).toEqual(['deps_big', 'deps_big_too']);
    expect(await computed.deleteAudience(s.space, 'deps_big')).toBe(true);
    await live();
    expect(await member()).toEqual([]);
  });
  it('a trait created during a pass counts an event committed after its backfill passed the profile', async () => {
    now = new Date('2026-06-01T00:00:00Z');
    const s = await newStack(t, { clock });
    const sent = await s.send('track', order('ct-race', 'race-o1', '2026-05-30T00:00:00Z', 10, 'a'));
    const profile = sent.ok ? (sent.profileId ?? '') : '';
    await computed.catchUp();
    // A pass whose first read of the live computations comes before the trait exists, and which goes on
    // only once the trait is LIVE and a new order is committed: the interleaving is held, not hoped for.
    const seam = computed as unknown as { traitsBySpace: () => Promise<unknown> };
    const real = seam.traitsBySpace.bind(computed);
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    seam.traitsBySpace = async () => {
      const live = await real();
      if (!held) {
        held = true;
        await gate;
      }
      return live;
    };
    try {
      const pass = computed.drain();
      await vi.waitFor(() => expect(held).toBe(true));
      await createTrait(s.space, 'race_revenue', "event('Order Completed').sum(property('total'))");
      await vi.waitFor(async () => expect(await computed.list(s.space)).toMatchObject([{ status: 'LIVE' }]), {
        timeout: 10_000,
      });
      expect(await stored(s, profile)).toEqual({ race_revenue: 10 });
      await s.send('track', order('ct-race', 'race-o2', '2026-05-31T00:00:00Z', 5, 'b'));
      release();
      await pass;
    } finally {
      release();
      seam.traitsBySpace = real;
    }
    await settleComputed(computed, s.space);
    expect(await stored(s, profile)).toEqual({ race_revenue: 15 });
  });
  it('a changed or new user-level definition moves the account audiences whose ANY / ALL refer to it', async () => {
    now = new Date('2026-06-01T00:00:00Z');
    const s = await newStack(t, { clock });
    await s.send('track', order('ct-acct-deps', 'acct-deps-o1', '2026-05-30T00:00:00Z', 15, 'a'));
    await s.send('group', {
      userId: 'ct-acct-deps',
      groupId: 'deps-acme',
      messageId: 'acct-deps-g1',
      timestamp: '2026-05-30T00:01:00Z',
    });
    const audience = (key: string, definition: string, level: 'USERS' | 'ACCOUNTS') =>
      computed.createAudience(s.space, { key, definition, level, includeAnonymous: true, description: null });
    const live = () => settleComputed(computed, s.space);
    const accountIn = async () =>
      ((await computed.memberships(s.space, ['deps-acme'], 'ACCOUNTS')).get('deps-acme') ?? [])
        .map((m) => m.key)
        .sort();
    expect(await audience('acct_buyers', "event('Order Completed').count() >= 1", 'USERS')).toMatchObject({
      ok: true,
    });
    // An account audience over a user-level audience, and one over a key that is no computation yet.
    expect(await audience('acct_has_buyer', "ANY(trait('acct_buyers') = true)", 'ACCOUNTS')).toMatchObject({
      ok: true,
    });
    expect(await audience('acct_has_big', "ANY(trait('acct_total') >= 10)", 'ACCOUNTS')).toMatchObject({
      ok: true,
    });
    await live();
    expect(await accountIn()).toEqual(['acct_has_buyer']);

    // Two orders now: the member leaves acct_buyers, so the account leaves acct_has_buyer, though no event
    // touched the account or its member.
    expect(await redefine(s.space, 'acct_buyers', "event('Order Completed').count() >= 2")).toMatchObject({
      ok: true,
    });
    await live();
    expect(await accountIn()).toEqual([]);

    // A user-level computed trait of the key acct_has_big reads: the account enters.
    await createTrait(s.space, 'acct_total', "event('Order Completed').sum(property('total'))");
    await live();
    expect(await accountIn()).toEqual(['acct_has_big']);

    // Deleting a user-level audience an account audience's ANY reads: the account leaves it.
    expect(await audience('acct_spender', "trait('acct_total') >= 10", 'USERS')).toMatchObject({ ok: true });
    expect(await audience('acct_has_spender', "ANY(trait('acct_spender') = true)", 'ACCOUNTS')).toMatchObject(
      {
        ok: true,
      },
    );
    await live();
    expect(await accountIn()).toEqual(['acct_has_big', 'acct_has_spender']);
    expect(await computed.deleteAudience(s.space, 'acct_spender')).toBe(true);
    await live();
    expect(await accountIn()).toEqual(['acct_has_big']);
  });
});
