// The event store (docs/adr/0018-event-store.md): every SQL file against the migrated database, migrations
// applied twice, the change log's order, and the fast path's bookkeeping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase, monthStart } from '../../src/postgres/migrations.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { countRows } from '../support/postgres.ts';
import { newStack } from '../support/stack.ts';

let t: TestGraph;
beforeAll(async () => {
  t = await openTestGraph();
});
afterAll(() => t.close());

describe('sql/', () => {
  it('every query file is prepared by the database (syntax, tables, columns, parameter types)', async () => {
    const names = t.db.queries.names();
    expect(names.length).toBeGreaterThan(10);
    const client = await t.db.pool.connect();
    try {
      for (const [i, name] of names.entries()) {
        const text = t.db.queries.get(name);
        // A utility statement (ANALYZE) cannot be prepared: it is run, in a transaction rolled back.
        const utility = /^\s*ANALYZE\b/m.test(text.replace(/^--.*$/gm, ''));
        if (utility) {
          await client.query('BEGIN');
          await expect(client.query(text), name).resolves.toBeDefined();
          await client.query('ROLLBACK');
          continue;
        }
        await expect(client.query(`PREPARE check_${i} AS ${text}`), name).resolves.toBeDefined();
      }
      await client.query('DEALLOCATE ALL');
    } finally {
      client.release();
    }
  });

  it('migrations apply twice without change and keep partitions ahead', async () => {
    expect(await migrateDatabase(t.db)).toEqual([]);
    const next = new Date();
    next.setUTCMonth(next.getUTCMonth() + 2, 1);
    const name = `tracks_${monthStart(next).slice(0, 7).replace('-', '_')}`;
    expect(await countRows(t.db, 'SELECT count(*)::int AS n FROM pg_class WHERE relname = $1', [name])).toBe(
      1,
    );
  });
});

describe('the change log', () => {
  it('records each commit once, in order, readable after a position', async () => {
    const s = await newStack(t);
    const before = await s.events.changes(null, 1_000_000);
    const last = before.at(-1);
    const after = last === undefined ? null : { txid: last.txid, position: last.position };
    await s.send('identify', { userId: 'c1', anonymousId: 'ca1', traits: { plan: 'pro' }, messageId: 'c-1' });
    await s.send('identify', { userId: 'c2', anonymousId: 'ca2', messageId: 'c-2' });
    await s.send('track', { userId: 'c1', anonymousId: 'ca2', event: 'Join', messageId: 'c-3' });
    await s.send('group', { userId: 'c1', groupId: 'cg', traits: { name: 'Acme' }, messageId: 'c-4' });
    // A reader sees a commit once every transaction that began before it has ended (other test files
    // write at the same time), so it reads again until the four commits' entries are there.
    let mine: Awaited<ReturnType<typeof s.events.changes>> = [];
    for (let tries = 0; tries < 100 && mine.length < 9; tries++) {
      if (tries > 0) await new Promise((r) => setTimeout(r, 200));
      mine = (await s.events.changes(after, 100_000)).filter((c) => c.space === s.space);
    }
    expect(mine.map((c) => c.kind)).toEqual([
      'events',
      'identifiers',
      'traits',
      'events',
      'identifiers',
      'events',
      'events',
      'accounts',
      'memberships',
    ]);
    expect(mine[0]?.payload).toEqual([
      expect.objectContaining({
        messageId: 'c-1',
        type: 'identify',
        keys: ['user_id:c1', 'anonymous_id:ca1'],
      }),
    ]);
    expect(mine[2]?.payload).toEqual([expect.objectContaining({ changed: { plan: 'pro' } })]);
    // The log is read in order and never repeats: reading on from the last entry finds nothing new.
    const end = mine.at(-1);
    const rest = await s.events.changes(
      end === undefined ? null : { txid: end.txid, position: end.position },
      1000,
    );
    expect(rest.filter((c) => c.space === s.space)).toEqual([]);
  });
});

describe('the fast path', () => {
  it('stores events of a known profile without a graph write, and flushes their bookkeeping', async () => {
    const s = await newStack(t);
    const created = await s.send('identify', {
      userId: 'f1',
      anonymousId: 'fa1',
      messageId: 'f-0',
      timestamp: '2026-01-01T00:00:00Z',
    });
    const before = s.commit.stats();
    t.queries.length = 0;
    const tracked = await s.send('track', {
      userId: 'f1',
      anonymousId: 'fa1',
      event: 'Viewed',
      messageId: 'f-1',
      timestamp: '2026-01-02T00:00:00Z',
    });
    expect(tracked).toMatchObject({ ok: true, profileId: created.profileId, violations: [] });
    expect(s.commit.stats()).toEqual({ events: before.events + 1, fastPath: before.fastPath + 1 });
    // One graph read and one PostgreSQL transaction: no graph write, no pending batch.
    expect(t.queries.filter((q) => !q.startsWith('events/'))).toEqual(['identity/find-owners']);
    expect(t.queries).not.toContain('events/add-pending-batch');

    await s.identity.flushActivity();
    const profile = await s.profiles.profileBy(s.space, 'user_id', 'f1');
    expect(profile?.metadata.lastEventAt?.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    const loaders = s.profiles.loaders(s.space);
    const events = await s.profiles.events(loaders, profile?.id ?? '', { first: 10 });
    expect(events.nodes.map((e) => e.messageId)).toEqual(['f-1', 'f-0']);
    // The evidence edge keeps the first event that joined the pair (ADR 0019); how often the pair was
    // seen together is the event store's to count.
    const evidence = () =>
      t.driver.executeQuery(
        `MATCH (:Identifier {space: $space, key: 'user_id:f1'})-[w:SEEN_WITH]->(b:Identifier)
         RETURN b.key AS to, w.firstMessageId AS m, toString(w.firstAt) AS at ORDER BY to`,
        { space: s.space },
      );
    expect((await evidence()).records.map((r) => r.toObject())).toEqual([
      { to: 'anonymous_id:fa1', m: 'f-0', at: '2026-01-01T00:00:00Z' },
    ]);
    const together = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM event_identifiers a JOIN event_identifiers b USING (space, message_id)
       WHERE a.space = $1 AND a.key = 'user_id:f1' AND b.key = 'anonymous_id:fa1'`,
      [s.space],
    );
    expect(together.rows[0]).toEqual({ n: 2 });

    // A fast-path event sent late moves firstSeen back and names itself on the evidence edge; one that
    // brings a pair of the profile's identifiers never seen together adds the edge.
    await s.send('track', {
      userId: 'f1',
      anonymousId: 'fa1',
      event: 'Viewed',
      messageId: 'f-late',
      timestamp: '2025-12-01T00:00:00Z',
    });
    await s.identity.flushActivity();
    const ids = await s.profiles.profileBy(s.space, 'user_id', 'f1');
    expect(ids?.metadata.firstEventAt?.toISOString()).toBe('2025-12-01T00:00:00.000Z');
    const firstSeen = await t.driver.executeQuery(
      `MATCH (i:Identifier {space: $space}) RETURN i.key AS key, toString(i.firstSeen) AS first ORDER BY key`,
      { space: s.space },
    );
    expect(firstSeen.records.map((r) => r.toObject())).toEqual([
      { key: 'anonymous_id:fa1', first: '2025-12-01T00:00:00Z' },
      { key: 'user_id:f1', first: '2025-12-01T00:00:00Z' },
    ]);
    expect((await evidence()).records.map((r) => r.toObject())).toEqual([
      { to: 'anonymous_id:fa1', m: 'f-late', at: '2025-12-01T00:00:00Z' },
    ]);

    await s.send('track', {
      userId: 'f1',
      event: 'Viewed',
      context: { traits: { email: 'f1@example.com' } },
      messageId: 'f-email',
      timestamp: '2026-01-03T00:00:00Z',
    });
    const fastBefore = s.commit.stats().fastPath;
    await s.send('track', {
      anonymousId: 'fa1',
      event: 'Viewed',
      context: { traits: { email: 'f1@example.com' } },
      messageId: 'f-pair',
      timestamp: '2026-01-04T00:00:00Z',
    });
    expect(s.commit.stats().fastPath).toBe(fastBefore + 1);
    await s.identity.flushActivity();
    const pairs = await t.driver.executeQuery(
      `MATCH (a:Identifier {space: $space})-[w:SEEN_WITH]->(b:Identifier)
       RETURN a.key + ' ' + b.key AS pair, w.firstMessageId AS m ORDER BY pair`,
      { space: s.space },
    );
    expect(pairs.records.map((r) => r.toObject())).toEqual([
      { pair: 'anonymous_id:fa1 email:f1@example.com', m: 'f-pair' },
      { pair: 'user_id:f1 anonymous_id:fa1', m: 'f-late' },
      { pair: 'user_id:f1 email:f1@example.com', m: 'f-email' },
    ]);

    // An event that adds an identifier is not fast.
    const fastSoFar = s.commit.stats().fastPath;
    await s.send('track', { userId: 'f1', anonymousId: 'fa2', event: 'Viewed', messageId: 'f-2' });
    expect(s.commit.stats().fastPath).toBe(fastSoFar);
  });
});
