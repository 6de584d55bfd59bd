// Profiles Sync of audience memberships and computed-trait values (SEMANTICS.md §11,
// docs/adr/0024-profiles-sync.md "Audiences and computed traits") against the run's PostgreSQL (a target
// database of the test's own) and a temporary DuckDB file: entries, exits and value changes arrive in the
// update tables, and the materialised tables (audience_memberships, computed_traits and their account
// equivalents) equal what the event store holds now, after merges too; a second pass writes nothing and a
// resync writes the same again. A deletion request (docs/adr/0027) takes every row of the person out of
// every table of both targets, and an account's (by group_id) out of the account tables. The computed-traits worker is driven by the test (catchUp), as in the
// audiences property test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputedTraitsService, DEFAULT_COMPUTED_SETTINGS } from '../../src/computed/index.ts';
import { EventStore } from '../../src/events/index.ts';
import type { Database } from '../../src/postgres/database.ts';
import {
  PrivacyRepository,
  PrivacyService,
  SUPPRESSION_REFRESH_MS,
  SuppressionList,
} from '../../src/privacy/index.ts';
import { ProfilesService } from '../../src/profiles/index.ts';
import { DEFAULT_SYNC_SETTINGS, SyncService, type SyncTargetStatus } from '../../src/sync/index.ts';
import { traitText } from '../../src/sync/apply.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { newStack, type Stack } from '../support/stack.ts';
import {
  HELD_TABLES,
  openTargetDatabase,
  queryDuckDb,
  queryPostgres,
  tempDuckDbFile,
  TEST_SYNC_KEY,
} from '../support/sync.ts';
import { settleComputed } from '../support/computed.ts';

type Kind = 'duckdb' | 'postgres';

let t: TestGraph;
let own: { db: Database; drop: () => Promise<void> };
let s: Stack;
let computed: ComputedTraitsService;
let sync: SyncService;
let pgTarget: Awaited<ReturnType<typeof openTargetDatabase>>;
let duck: Awaited<ReturnType<typeof tempDuckDbFile>>;
const targets: { kind: Kind; status: SyncTargetStatus }[] = [];

beforeAll(async () => {
  const shared = await openTestGraph();
  own = await openPrivateDatabase();
  t = { ...shared, db: own.db, close: shared.close };
  s = await newStack(t);
  const profiles = new ProfilesService(t.graph, new EventStore(own.db));
  computed = new ComputedTraitsService(
    own.db,
    { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0 },
    undefined,
    undefined,
    null,
    (space, level, ids) => profiles.customTraits(space, level, ids),
  );
  // A small batch, so that a sync takes several target transactions.
  sync = new SyncService(t.db, s.events, { ...DEFAULT_SYNC_SETTINGS, batch: 3 }, TEST_SYNC_KEY);
  pgTarget = await openTargetDatabase();
  duck = await tempDuckDbFile();
});
afterAll(async () => {
  for (const target of targets) await sync.removeTarget(target.status.id);
  await computed.stop();
  await pgTarget.drop();
  await duck.remove();
  await own.drop();
  await t.close();
});

function query(kind: Kind, sql: string): Promise<Record<string, unknown>[]> {
  return kind === 'duckdb' ? queryDuckDb(duck.path, sql) : queryPostgres(pgTarget.pool, sql);
}

async function send(type: 'identify' | 'track' | 'group', input: Record<string, unknown>) {
  expect((await s.send(type, input)).ok, JSON.stringify(input)).toBe(true);
}

/**
 * What the event store holds now, as the materialised tables should: members of each audience and the
 * values of each computed trait (none of these definitions has a window, so every stored value is a
 * non-empty one), as sorted `subject key value` lines.
 */
async function expected(): Promise<Record<string, string[]>> {
  const { rows } = await own.db.pool.query<{
    level: string;
    subject_id: string;
    trait_key: string;
    value: unknown;
    kind: string;
  }>(
    `SELECT v.level, v.subject_id, v.trait_key, v.value, t.kind FROM computed_values v
     JOIN computed_traits t ON t.space = v.space AND t.key = v.trait_key WHERE v.space = $1`,
    [s.space],
  );
  const out: Record<string, string[]> = {
    audience_memberships: [],
    account_audience_memberships: [],
    computed_traits: [],
    account_computed_traits: [],
  };
  for (const r of rows) {
    const users = r.level === 'USERS';
    if (r.kind === 'audience') {
      if (r.value === true)
        out[users ? 'audience_memberships' : 'account_audience_memberships']?.push(
          `${r.subject_id} ${r.trait_key}`,
        );
    } else
      out[users ? 'computed_traits' : 'account_computed_traits']?.push(
        `${r.subject_id} ${r.trait_key} ${traitText(r.value)}`,
      );
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

async function materialised(kind: Kind): Promise<Record<string, string[]>> {
  const lines = async (sql: string) =>
    (await query(kind, sql)).map((r) => Object.values(r).map(String).join(' ')).sort();
  return {
    audience_memberships: await lines('SELECT canonical_segment_id, audience_key FROM audience_memberships'),
    account_audience_memberships: await lines(
      'SELECT group_id, audience_key FROM account_audience_memberships',
    ),
    computed_traits: await lines('SELECT canonical_segment_id, trait_key, value FROM computed_traits'),
    account_computed_traits: await lines('SELECT group_id, trait_key, value FROM account_computed_traits'),
  };
}

async function profileOf(userId: string): Promise<string> {
  const p = await s.profiles.profileBy(s.space, 'user_id', userId);
  if (p === null) throw new Error(`no profile for ${userId}`);
  return p.id;
}

describe('Profiles Sync of audiences and computed traits', () => {
  it('writes entries, exits and values; the materialised tables equal the event store, after a merge too', async () => {
    await send('identify', { userId: 'sv-u1', traits: { plan: 'pro' }, messageId: 'sv-1' });
    await send('track', { userId: 'sv-u1', event: 'Order Completed', messageId: 'sv-2' });
    await send('track', { anonymousId: 'sv-a9', event: 'Order Completed', messageId: 'sv-3' });
    await send('group', { userId: 'sv-u1', groupId: 'sv-acme', traits: { tier: 'gold' }, messageId: 'sv-4' });
    for (const [key, definition, level, audience] of [
      ['buyers', "event('Order Completed').count() >= 1", 'USERS', true],
      ['orders', "event('Order Completed').count()", 'USERS', false],
      ['gold', "trait('tier') = 'gold'", 'ACCOUNTS', true],
      ['acct_orders', "event('Order Completed').count()", 'ACCOUNTS', false],
    ] as const) {
      const created = audience
        ? await computed.createAudience(s.space, {
            key,
            definition,
            level,
            includeAnonymous: true,
            description: null,
          })
        : await computed.create(s.space, { key, definition, level, description: null });
      expect(created.ok, key).toBe(true);
    }
    await settleComputed(computed, s.space);
    for (const kind of ['duckdb', 'postgres'] as const) {
      const added = await sync.addTarget(s.space, {
        kind,
        location: kind === 'duckdb' ? duck.path : pgTarget.url,
      });
      if (!added.ok) throw new Error(added.message);
      targets.push({ kind, status: added.target });
    }

    const u1 = await profileOf('sv-u1');
    const want = await expected();
    expect(want.audience_memberships).toHaveLength(2);
    expect(want.computed_traits).toContain(`${u1} orders 1`);
    expect(want.account_audience_memberships).toEqual(['sv-acme gold']);
    expect(want.account_computed_traits).toEqual(['sv-acme acct_orders 1']);
    for (const { kind, status } of targets) {
      await sync.catchUp(status.id);
      expect(await materialised(kind), kind).toEqual(want);
      expect(await sync.target(status.id), kind).toMatchObject({ lag: { changes: 0 } });
    }

    // The anonymous buyer turns out to be sv-u1 (a merge), another order, and the account leaves gold.
    await send('identify', { userId: 'sv-u1', anonymousId: 'sv-a9', messageId: 'sv-5' });
    await send('track', { userId: 'sv-u1', event: 'Order Completed', messageId: 'sv-6' });
    await send('group', {
      userId: 'sv-u1',
      groupId: 'sv-acme',
      traits: { tier: 'silver' },
      messageId: 'sv-7',
    });
    await settleComputed(computed, s.space);
    const after = await expected();
    expect(after).toEqual({
      audience_memberships: [`${u1} buyers`],
      account_audience_memberships: [],
      computed_traits: [`${u1} orders 3`],
      account_computed_traits: ['sv-acme acct_orders 3'],
    });
    for (const { kind, status } of targets) {
      await sync.catchUp(status.id);
      expect(await materialised(kind), kind).toEqual(after);
      // The update tables hold every step: u1 entered once; the merged-away buyer entered, then left
      // with the merge; the account entered gold and left it.
      expect(
        await query(
          kind,
          `SELECT level, audience_key, entered, cause FROM audience_membership_updates
           WHERE canonical_segment_id = '${u1}' OR group_id = 'sv-acme' ORDER BY level DESC, seq`,
        ),
        kind,
      ).toEqual([
        { level: 'USERS', audience_key: 'buyers', entered: true, cause: 'backfill' },
        { level: 'ACCOUNTS', audience_key: 'gold', entered: true, cause: 'backfill' },
        // The account's tier is a trait of the account: a membership change, as the worker records it.
        { level: 'ACCOUNTS', audience_key: 'gold', entered: false, cause: 'membership' },
      ]);
      expect(
        (
          await query(kind, `SELECT cause FROM audience_membership_updates WHERE NOT entered ORDER BY cause`)
        ).map((r) => r.cause),
        kind,
      ).toEqual(['membership', 'merge']);
      const values = (
        await query(
          kind,
          `SELECT value FROM computed_trait_updates WHERE canonical_segment_id = '${u1}' AND trait_key = 'orders' ORDER BY seq`,
        )
      ).map((r) => r.value);
      expect([values[0], values.at(-1)], kind).toEqual(['1', '3']);

      // Nothing new: nothing written. A resync writes the same rows again.
      expect(await sync.catchUp(status.id), kind).toEqual({ changes: 0, rows: 0 });
      const count = async () =>
        Number((await query(kind, 'SELECT count(*) AS n FROM audience_membership_updates'))[0]?.n) +
        Number((await query(kind, 'SELECT count(*) AS n FROM computed_trait_updates'))[0]?.n);
      const before = await count();
      expect(await sync.requestResync(status.id)).toBe(true);
      await sync.catchUp(status.id);
      expect(await count(), kind).toBe(before);
      expect(await materialised(kind), kind).toEqual(after);
    }
  });

  it('takes a deleted person out of every table of both targets, merged-away ids included', async () => {
    const privacyRepository = new PrivacyRepository(own.db, t.graph);
    const privacy = new PrivacyService(
      own.db,
      t.graph,
      new SuppressionList((space) => privacyRepository.suppressedKeys(space), SUPPRESSION_REFRESH_MS),
    );
    const u1 = await profileOf('sv-u1');
    // sv-a9's profile was merged into sv-u1's in the test before: its rows go too.
    const segments = async (kind: Kind) =>
      (
        await query(
          kind,
          `SELECT segment_id FROM profile_merges WHERE canonical_segment_id = '${u1}' ORDER BY segment_id`,
        )
      ).map((r) => String(r.segment_id));
    for (const { kind } of targets) expect((await segments(kind)).length, kind).toBe(2);
    const ids = await segments('postgres');
    const inList = ids.map((id) => `'${id}'`).join(', ');
    const remaining = async (kind: Kind) => {
      const counts: Record<string, number> = {};
      for (const [table, where] of [
        ['identifies', `segment_id IN (${inList})`],
        ['tracks', `segment_id IN (${inList})`],
        ['groups', `segment_id IN (${inList})`],
        ['id_graph_updates', `segment_id IN (${inList}) OR canonical_segment_id IN (${inList})`],
        ['external_id_mapping_updates', `segment_id IN (${inList})`],
        ['profile_traits_updates', `segment_id IN (${inList}) OR canonical_segment_id IN (${inList})`],
        ['user_identifiers', `canonical_segment_id IN (${inList})`],
        ['user_traits', `canonical_segment_id IN (${inList})`],
        ['audience_membership_updates', `canonical_segment_id IN (${inList})`],
        ['computed_trait_updates', `canonical_segment_id IN (${inList})`],
        ['audience_memberships', `canonical_segment_id IN (${inList})`],
        ['computed_traits', `canonical_segment_id IN (${inList})`],
        ['account_members', `canonical_segment_id IN (${inList})`],
        ['profile_merges', `segment_id IN (${inList}) OR canonical_segment_id IN (${inList})`],
      ] as const)
        counts[table] = Number(
          (await query(kind, `SELECT count(*) AS n FROM ${table} WHERE ${where}`))[0]?.n,
        );
      return counts;
    };
    // Before: the person has rows in the tables that hold them.
    expect((await remaining('duckdb')).tracks).toBeGreaterThan(0);
    const asked = await privacy.request(s.space, 'DELETE_ONLY', { type: 'user_id', value: 'sv-u1' });
    expect(asked.ok).toBe(true);
    await privacy.idle();
    await settleComputed(computed, s.space);
    for (const { kind, status } of targets) {
      await sync.catchUp(status.id);
      const left = await remaining(kind);
      expect(left, kind).toEqual(Object.fromEntries(Object.keys(left).map((k) => [k, 0])));
      // The rows the target says it holds are those its event and update tables hold: the removed ones
      // were counted off (a resync, which never writes the deleted events, arrives at the same count).
      let held = 0;
      for (const table of HELD_TABLES)
        held += Number((await query(kind, `SELECT count(*) AS n FROM ${table}`))[0]?.n);
      expect(held, kind).toBeGreaterThan(0);
      expect(await sync.target(status.id), kind).toMatchObject({ lag: { changes: 0 }, rowsWritten: held });
    }
    await privacy.stop();
  });

  it('takes a deleted account (by group_id) out of every account table of both targets; its member stays', async () => {
    const privacyRepository = new PrivacyRepository(own.db, t.graph);
    const privacy = new PrivacyService(
      own.db,
      t.graph,
      new SuppressionList((space) => privacyRepository.suppressedKeys(space), SUPPRESSION_REFRESH_MS),
    );
    await send('identify', { userId: 'sv-u2', traits: { plan: 'free' }, messageId: 'sv-20' });
    await send('group', {
      userId: 'sv-u2',
      groupId: 'sv-beta',
      traits: { tier: 'gold' },
      messageId: 'sv-21',
    });
    await send('track', { userId: 'sv-u2', event: 'Order Completed', messageId: 'sv-22' });
    await settleComputed(computed, s.space);
    // The targets the first test added (this test follows it).
    expect(targets.map((x) => x.kind)).toEqual(['duckdb', 'postgres']);
    const counts = async (kind: Kind) => {
      const out: Record<string, number> = {};
      for (const [table, where] of [
        ['groups', `group_id = 'sv-beta'`],
        ['audience_membership_updates', `group_id = 'sv-beta'`],
        ['computed_trait_updates', `group_id = 'sv-beta'`],
        ['account_audience_memberships', `group_id = 'sv-beta'`],
        ['account_computed_traits', `group_id = 'sv-beta'`],
        ['account_traits', `group_id = 'sv-beta'`],
        ['account_members', `group_id = 'sv-beta'`],
      ] as const)
        out[table] = Number((await query(kind, `SELECT count(*) AS n FROM ${table} WHERE ${where}`))[0]?.n);
      return out;
    };
    const member = async (kind: Kind) =>
      Number((await query(kind, `SELECT count(*) AS n FROM identifies WHERE user_id = 'sv-u2'`))[0]?.n);
    for (const { kind, status } of targets) {
      await sync.catchUp(status.id);
      // Before: the account has a row in each of its tables (gold, one order) and its member an identify.
      expect(await counts(kind), kind).toEqual({
        groups: 1,
        audience_membership_updates: 1,
        computed_trait_updates: 1,
        account_audience_memberships: 1,
        account_computed_traits: 1,
        account_traits: 1,
        account_members: 1,
      });
      expect(await member(kind), kind).toBe(1);
    }
    const asked = await privacy.request(s.space, 'DELETE_ONLY', { type: 'group_id', value: 'sv-beta' });
    expect(asked.ok).toBe(true);
    await privacy.idle();
    await settleComputed(computed, s.space);
    for (const { kind, status } of targets) {
      await sync.catchUp(status.id);
      const left = await counts(kind);
      expect(left, kind).toEqual(Object.fromEntries(Object.keys(left).map((k) => [k, 0])));
      expect(await member(kind), kind).toBe(1);
      expect(await sync.target(status.id), kind).toMatchObject({ lag: { changes: 0 } });
    }
    await privacy.stop();
  });
});
