// Issue 12 §8: a graph written by the version before the event store holds its events as Event nodes with
// FROM edges. `events migrate` moves them into PostgreSQL once, resumably and crash-safely, and they read
// as they did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli.ts';
import { EVENT_MOVE_MIGRATION, LegacyEventMigration } from '../../src/events/index.ts';
import type { ValidEvent } from '../../src/ingest/event.ts';
import { parseJson, stringifyJson } from '../../src/json.ts';
import { monthStart } from '../../src/postgres/migrations.ts';
import { createServices } from '../../src/services.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { storedCounts } from '../support/postgres.ts';
import { newStack, type Stack } from '../support/stack.ts';

let t: TestGraph;
beforeAll(async () => {
  t = await openTestGraph();
});
afterAll(() => t.close());

/** The events part of identity/write-batch.cypher as the version before the event store had it (85d8c05). */
const LEGACY_WRITE_EVENTS = `
UNWIND $events AS ev
CREATE (e:Event {space: $space, messageId: ev.messageId})
SET e.type = ev.type, e.event = ev.event, e.name = ev.name, e.category = ev.category,
    e.userId = ev.userId, e.anonymousId = ev.anonymousId, e.previousId = ev.previousId,
    e.groupId = ev.groupId, e.properties = ev.properties, e.traits = ev.traits,
    e.context = ev.context, e.integrations = ev.integrations,
    e.timestamp = datetime(ev.timestamp), e.receivedAt = datetime(ev.receivedAt),
    e.sentAt = CASE WHEN ev.sentAt IS NULL THEN null ELSE datetime(ev.sentAt) END,
    e.originalTimestamp = CASE WHEN ev.originalTimestamp IS NULL THEN null
                          ELSE datetime(ev.originalTimestamp) END,
    e.violations = ev.violations, e.warnings = ev.warnings, e.resolvedTo = ev.resolvedTo
WITH e, ev
CALL (e, ev) {
  UNWIND ev.keys AS carried
  MATCH (i:Identifier {space: $space, key: carried})
  CREATE (e)-[:FROM]->(i)
  RETURN count(i) AS linked
}
RETURN count(e) AS events`;

/** The old repository's parameters for one event (identity.repository.ts writeBatch at 85d8c05). */
function legacyParams(event: ValidEvent, keys: string[], violations: unknown[], resolvedTo: string) {
  const json = (v: Record<string, unknown> | undefined) => (v === undefined ? null : stringifyJson(v));
  return {
    messageId: event.messageId,
    type: event.type,
    event: event.event ?? null,
    name: event.name ?? null,
    category: event.category ?? null,
    userId: event.userId ?? null,
    anonymousId: event.anonymousId ?? null,
    previousId: event.previousId ?? null,
    groupId: event.groupId ?? null,
    properties: json(event.properties),
    traits: json(event.traits),
    context: stringifyJson(event.context),
    integrations: stringifyJson(event.integrations),
    timestamp: event.timestamp.toISOString(),
    receivedAt: event.receivedAt.toISOString(),
    sentAt: event.sentAt?.toISOString() ?? null,
    originalTimestamp: event.originalTimestamp?.toISOString() ?? null,
    violations: JSON.stringify(violations),
    warnings: JSON.stringify(event.warnings),
    resolvedTo,
    keys,
  };
}

const EVENT_TABLES = ['identifies', 'tracks', 'pages', 'screens', 'groups', 'aliases'];
const PARTITIONED = [...EVENT_TABLES, 'event_identifiers', 'event_violations'];

async function rows(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  return (await t.db.pool.query(sql, params)).rows as Record<string, unknown>[];
}

async function graphCount(cypher: string, params: Record<string, unknown>): Promise<number> {
  const { records } = await t.driver.executeQuery(cypher, params);
  return Number(records[0]?.get(0) ?? 0);
}

const eventNodes = (s: Stack) =>
  graphCount('MATCH (e:Event {space: $space}) RETURN count(e)', { space: s.space });

/**
 * Turns the space into what the previous version left: its events as Event nodes and FROM edges written
 * by the old statement, none of them in PostgreSQL, and no partition for their month.
 */
async function makeLegacy(s: Stack, ids: string[], month: Date): Promise<void> {
  const events = await s.events.loadEvents(s.space, ids);
  const keys = await s.events.eventKeys(s.space, ids);
  const violations = new Map(
    (await rows('SELECT message_id, violations FROM event_violations WHERE space = $1', [s.space])).map(
      (r) => [String(r.message_id), r.violations as unknown[]],
    ),
  );
  const owner = new Map(
    (await rows('SELECT key, profile_id FROM identity_map WHERE space = $1', [s.space])).map((r) => [
      String(r.key),
      String(r.profile_id),
    ]),
  );
  await t.driver.executeQuery(LEGACY_WRITE_EVENTS, {
    space: s.space,
    events: events.map((e) => {
      const carried = keys.get(e.messageId) ?? [];
      return legacyParams(e, carried, violations.get(e.messageId) ?? [], owner.get(carried[0] ?? '') ?? '');
    }),
  });
  for (const table of [...PARTITIONED, 'message_ids', 'identity_map', 'profile_merges', 'changes']) {
    await t.db.pool.query(`DELETE FROM ${table} WHERE space = $1`, [s.space]);
  }
  // The month is this test's own (see the clock below): a server that never stored events has no partition.
  const suffix = monthStart(month).slice(0, 7).replace('-', '_');
  for (const parent of PARTITIONED) await t.db.pool.query(`DROP TABLE IF EXISTS ${parent}_${suffix}`);
}

/** What the profile reads answer for the space's profiles, events, violations, identifiers and account. */
async function reads(s: Stack, ids: string[]) {
  const out: Record<string, unknown> = {};
  for (const [type, value] of [
    ['user_id', 'u1'],
    ['user_id', 'u3'],
    ['anonymous_id', 'a2'],
  ] as const) {
    const loaders = s.profiles.loaders(s.space);
    const profile = await s.profiles.profileBy(s.space, type, value);
    if (profile === null) throw new Error(`no profile for ${type}:${value}`);
    out[value] = {
      id: profile.id,
      newest: await s.profiles.events(loaders, profile.id, { first: 50 }),
      paged: await s.profiles.events(loaders, profile.id, { first: 2, order: 'OLDEST_FIRST' }),
      filtered: await s.profiles.events(loaders, profile.id, { first: 50, types: ['track', 'page'] }),
      named: await s.profiles.events(loaders, profile.id, { first: 50, names: ['Home', 'Order Completed'] }),
      bounds: await s.profiles.eventBounds(loaders, profile.id),
      violations: await s.profiles.violations(loaders, profile.id, 10),
    };
  }
  out.identifiers = Object.fromEntries(await s.profiles.eventIdentifiers(s.space, ids));
  out.account = await s.profiles.accountEvents(s.space, 'acme', { first: 10 });
  return out;
}

/** The event store's rows that are not events: identifiers of events, violations, claims, the maps. */
async function sideRows(s: Stack) {
  return {
    links: await rows(
      `SELECT message_id, key, type, name, "timestamp", received_at FROM event_identifiers
       WHERE space = $1 ORDER BY message_id, key`,
      [s.space],
    ),
    violations: await rows(
      'SELECT message_id, "timestamp", violations FROM event_violations WHERE space = $1 ORDER BY message_id',
      [s.space],
    ),
    claims: await rows(
      'SELECT message_id, type, received_at FROM message_ids WHERE space = $1 ORDER BY message_id',
      [s.space],
    ),
    identityMap: await rows('SELECT key, profile_id FROM identity_map WHERE space = $1 ORDER BY key', [
      s.space,
    ]),
    merges: await rows(
      'SELECT merged_id, survivor_id FROM profile_merges WHERE space = $1 ORDER BY merged_id',
      [s.space],
    ),
  };
}

async function graphIdentityMap(s: Stack) {
  const { records } = await t.driver.executeQuery(
    `MATCH (i:Identifier {space: $space})-[:IDENTIFIES]->(p:Profile)
     RETURN i.key AS key, p.id AS profile_id ORDER BY key`,
    { space: s.space },
  );
  return records.map((r) => ({ key: String(r.get('key')), profile_id: String(r.get('profile_id')) }));
}

describe('events migrate (issue 12 §8)', () => {
  // Ten events through a cold graph (each new query is planned once) take a while on a shared machine.
  it(
    'moves Event nodes into the event store once, through a stop and a crash, and they read as before',
    { timeout: 180_000 },
    async () => {
      // A month of its own, far back, so that its partitions are this test's alone.
      const month = new Date(
        Date.UTC(2000 + Math.floor(Math.random() * 10), Math.floor(Math.random() * 12), 14),
      );
      const s = await newStack(t, { clock: () => month });
      const at = (minutes: number) => new Date(month.getTime() - 86_400_000 + minutes * 60_000).toISOString();
      const big = (digits: string) => parseJson(digits);
      const sent = [
        await s.send('identify', {
          messageId: 'm-01',
          userId: 'u1',
          anonymousId: 'a1',
          traits: { email: 'jane@x.com', plan: 'pro', ref: big('12345678901234567890123') },
          timestamp: at(0),
        }),
        await s.send('track', {
          messageId: 'm-02',
          userId: 'u1',
          event: 'Order Completed',
          properties: { orderId: big('98765432109876543210'), total: 12.5, items: [{ sku: 'a' }] },
          timestamp: at(1),
          sentAt: at(2),
        }),
        // An unreadable time: stored with a warning (SEMANTICS.md §8).
        await s.send('track', {
          messageId: 'm-03',
          anonymousId: 'a2',
          event: 'Viewed Product',
          timestamp: 'soon',
        }),
        await s.send('page', {
          messageId: 'm-04',
          anonymousId: 'a2',
          name: 'Home',
          category: 'Docs',
          properties: { path: '/' },
          timestamp: at(3),
        }),
        await s.send('screen', { messageId: 'm-05', userId: 'u1', name: 'Settings', timestamp: at(4) }),
        await s.send('group', {
          messageId: 'm-06',
          userId: 'u1',
          groupId: 'acme',
          traits: { name: 'Acme', seats: big('10000000000000000001') },
          timestamp: at(5),
        }),
        // a2's profile merges into u1's, the older (SEMANTICS.md §4).
        await s.send('identify', { messageId: 'm-07', userId: 'u1', anonymousId: 'a2', timestamp: at(6) }),
        // The shared email stays with u1: a violation (SEMANTICS.md §4).
        await s.send('identify', {
          messageId: 'm-08',
          userId: 'u3',
          traits: { email: 'jane@x.com' },
          timestamp: at(7),
        }),
        await s.send('track', { messageId: 'm-09', userId: 'u3', event: 'Login', timestamp: at(8) }),
        await s.send('alias', { messageId: 'm-10', previousId: 'a3', userId: 'u3', timestamp: at(9) }),
      ];
      expect(sent.every((r) => r.ok && !r.duplicate)).toBe(true);
      expect(sent[2]?.warnings.map((w) => w.code)).toEqual(['TIMESTAMP_INVALID']);
      expect(sent[7]?.violations.map((v) => v.code)).toEqual(['LIMIT_EXCEEDED']);
      const ids = sent.map((r) => String(r.messageId));

      const before = await reads(s, ids);
      const sideBefore = await sideRows(s);
      expect(sideBefore.merges).toHaveLength(1);
      expect(sideBefore.violations).toHaveLength(1);

      await makeLegacy(s, ids, month);
      expect(await eventNodes(s)).toBe(ids.length);
      const { records } = await t.driver.executeQuery(
        "MATCH (e:Event {space: $space, messageId: 'm-02'}) RETURN e.properties AS p",
        { space: s.space },
      );
      expect(String(records[0]?.get('p'))).toContain('"orderId":98765432109876543210');
      expect((await storedCounts(t.db, s.space)).size).toBe(0);
      const migration = new LegacyEventMigration(t.graph, t.db);
      expect((await migration.pending()).eventsLeft).toBe(true);

      // A client resends an old event before it moves: this version has no claim for it yet, so it
      // stores the event anew; the move then finds the claim with its row and stores nothing more.
      const early = await s.send('track', {
        messageId: 'm-09',
        userId: 'u3',
        event: 'Login',
        timestamp: at(8),
      });
      expect(early).toMatchObject({ ok: true, duplicate: false });

      // Stopped after the first page.
      let pages = 0;
      const stopped = await migration.run({ space: s.space, batch: 2, stopped: () => pages++ >= 1 });
      expect(stopped).toMatchObject({ total: 10, moved: 2, stored: 2, finished: false });
      expect(await eventNodes(s)).toBe(8);

      // A crash between a page's PostgreSQL commit and its Neo4j delete: rows and nodes both stay.
      let crashes = 0;
      await expect(
        migration.run({
          space: s.space,
          batch: 2,
          afterStore: () => {
            if (crashes++ === 0) throw new Error('crash after the PostgreSQL commit');
          },
        }),
      ).rejects.toThrow('crash after the PostgreSQL commit');
      expect(await eventNodes(s)).toBe(8);
      expect([...(await storedCounts(t.db, s.space)).values()]).toEqual([1, 1, 1, 1, 1]);

      // Resumed through the command: the page the crash left is stored already, the rest now.
      const output = await runCommand(
        ['events', 'migrate', '--space', s.space, '--batch', '2'],
        createServices(t.graph, t.db),
      );
      expect(output.split('\n').slice(0, 2)).toEqual([
        'Moved 8 of 8 events from Neo4j to PostgreSQL (5 stored now, 3 found stored already).',
        `Added ${sideBefore.identityMap.length} rows to identity_map and 1 to profile_merges.`,
      ]);

      expect(await eventNodes(s)).toBe(0);
      expect(
        await graphCount('MATCH (:Event {space: $space})-[f:FROM]->() RETURN count(f)', { space: s.space }),
      ).toBe(0);
      const counts = await storedCounts(t.db, s.space);
      expect([...counts.keys()].sort()).toEqual([...ids].sort());
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(await reads(s, ids)).toEqual(before);
      const sideAfter = await sideRows(s);
      expect(sideAfter).toEqual(sideBefore);
      expect(sideAfter.identityMap).toEqual(await graphIdentityMap(s));
      expect(
        await graphCount('MATCH (m:Migration {id: $id}) WHERE m.done RETURN count(m)', {
          id: `${EVENT_MOVE_MIGRATION}:${s.space}`,
        }),
      ).toBe(1);

      // Deduplication holds across the move: an old messageId sent again is a duplicate.
      const resent = await s.send('track', { messageId: 'm-02', userId: 'u1', event: 'Order Completed' });
      expect(resent).toMatchObject({ ok: true, duplicate: true });
      expect((await storedCounts(t.db, s.space)).get('m-02')).toBe(1);

      // Done: running again moves and adds nothing.
      expect(await migration.run({ space: s.space })).toMatchObject({
        total: 0,
        moved: 0,
        stored: 0,
        identifiers: 0,
        merges: 0,
        finished: true,
      });
    },
  );

  it('keeps an event whose text PostgreSQL cannot hold, replacing it as ingestion does', async () => {
    const s = await newStack(t);
    await s.send('identify', { messageId: 'v-0', userId: 'v1', anonymousId: 'w1' });
    // An earlier version took a NUL in an id: its identifier joined v1's profile.
    await t.driver.executeQuery(
      `MATCH (:Identifier {space: $space, key: 'user_id:v1'})-[:IDENTIFIES]->(p:Profile)
       CREATE (:Identifier {space: $space, key: 'user_id:bad' + $nul + 'id', type: 'user_id',
                            value: 'bad' + $nul + 'id', firstSeen: datetime(), lastSeen: datetime()})
              -[:IDENTIFIES {since: datetime(), by: 'old'}]->(p)`,
      { space: s.space, nul: '\u0000' },
    );
    const now = new Date().toISOString();
    await t.driver.executeQuery(LEGACY_WRITE_EVENTS, {
      space: s.space,
      events: [
        {
          ...legacyParams(
            {
              type: 'track',
              messageId: 'x-1',
              userId: 'bad\u0000id',
              anonymousId: 'w1',
              event: 'Clicked\u0000',
              properties: { note: 'a\u0000b', pair: '\u{1F600}', big: parseJson('12345678901234567890') },
              context: {},
              integrations: {},
              timestamp: new Date(now),
              receivedAt: new Date(now),
              warnings: [],
            },
            ['user_id:bad\u0000id', 'anonymous_id:w1'],
            [],
            '',
          ),
        },
      ],
    });
    // A node as the email re-normalisation test writes one: fewer properties, no FROM edge.
    await t.driver.executeQuery(
      `CREATE (:Event {space: $space, messageId: 'x-2', type: 'identify', timestamp: datetime(),
                       receivedAt: datetime(), context: '{}', integrations: '{}', violations: '[]'})`,
      { space: s.space },
    );

    const result = await new LegacyEventMigration(t.graph, t.db).run({ space: s.space });
    expect(result).toMatchObject({ total: 2, moved: 2, stored: 2, finished: true });
    expect(await eventNodes(s)).toBe(0);
    expect(Object.fromEntries(await storedCounts(t.db, s.space))).toEqual({ 'v-0': 1, 'x-1': 1, 'x-2': 1 });

    const [moved] = await s.events.loadEvents(s.space, ['x-1']);
    expect(moved).toMatchObject({
      userId: 'bad\ufffdid',
      anonymousId: 'w1',
      event: 'Clicked\ufffd',
      properties: { note: 'a\ufffdb', pair: '\u{1F600}' },
    });
    expect(String(moved?.properties?.big)).toBe('12345678901234567890');
    expect(moved?.warnings.map((w) => `${w.code} ${w.path.join('.')}`)).toEqual([
      'TEXT_REPLACED event',
      'TEXT_REPLACED properties',
      'TEXT_REPLACED userId',
    ]);
    // No read could name the key PostgreSQL cannot hold: the event is found through its other identifier.
    expect(Object.fromEntries(await s.events.eventKeys(s.space, ['x-1', 'x-2']))).toEqual({
      'x-1': ['anonymous_id:w1'],
    });
    expect(
      (await rows('SELECT key FROM identity_map WHERE space = $1 ORDER BY key', [s.space])).map((r) => r.key),
    ).toEqual(['anonymous_id:w1', 'user_id:v1']);
  });
  it("applies §8's future clock rule to an event the graph took before it existed", async () => {
    const s = await newStack(t);
    await s.send('identify', { messageId: 'f-0', userId: 'f1' });
    const received = new Date(Date.now() - 60_000);
    const ahead = (ms: number) => new Date(received.getTime() + ms);
    const legacy = (messageId: string, timestamp: Date) =>
      legacyParams(
        {
          type: 'track',
          messageId,
          userId: 'f1',
          event: 'Order Completed',
          properties: {},
          context: {},
          integrations: {},
          timestamp,
          receivedAt: received,
          warnings: [],
        },
        ['user_id:f1'],
        [],
        '',
      );
    await t.driver.executeQuery(LEGACY_WRITE_EVENTS, {
      space: s.space,
      // One a day ahead of its receipt (an old version kept it), one within the hour's tolerance.
      events: [legacy('f-1', ahead(86_400_000)), legacy('f-2', ahead(30 * 60_000))],
    });

    const result = await new LegacyEventMigration(t.graph, t.db).run({ space: s.space });
    expect(result).toMatchObject({ moved: 2, stored: 2, finished: true });
    const byId = new Map((await s.events.loadEvents(s.space, ['f-1', 'f-2'])).map((e) => [e.messageId, e]));
    expect(byId.get('f-1')?.timestamp.getTime()).toBe(received.getTime());
    expect(byId.get('f-1')?.warnings.map((w) => `${w.code} ${w.path.join('.')}`)).toEqual([
      'TIMESTAMP_CLAMPED timestamp',
    ]);
    expect(byId.get('f-2')?.timestamp.getTime()).toBe(ahead(30 * 60_000).getTime());
    expect(byId.get('f-2')?.warnings).toEqual([]);
    // event_identifiers keeps the clamped time too, which windowed reads rely on.
    const times = await rows(
      `SELECT message_id, round(extract(epoch FROM "timestamp") * 1000)::float8 AS t FROM event_identifiers
       WHERE space = $1 AND message_id = ANY($2) ORDER BY message_id`,
      [s.space, ['f-1', 'f-2']],
    );
    expect(times.map((r) => [r.message_id, r.t])).toEqual([
      ['f-1', received.getTime()],
      ['f-2', ahead(30 * 60_000).getTime()],
    ]);
  });
});
