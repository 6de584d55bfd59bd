// Identity resolution against the real Neo4j (SEMANTICS.md §1–§5): every rule, one space per test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/identity/index.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { countRows, storedCounts } from '../support/postgres.ts';
import { newStack, patchRule, type Stack } from '../support/stack.ts';

let t: TestGraph;
beforeAll(async () => {
  t = await openTestGraph();
});
afterAll(() => t.close());

async function profileOf(s: Stack, type: string, value: string) {
  return s.profiles.profileBy(s.space, type, value);
}

async function idsOf(s: Stack, type: string, value: string): Promise<string[]> {
  const p = await profileOf(s, type, value);
  if (p === null) return [];
  const ids = await s.profiles.loaders(s.space).identifiers.load(p.id);
  return ids.map((i) => `${i.type}:${i.value}`).sort();
}

async function groupsOf(s: Stack, type: string, value: string): Promise<string[]> {
  const p = await profileOf(s, type, value);
  if (p === null) return [];
  return (await s.profiles.loaders(s.space).accounts.load(p.id)).map((a) => a.groupId);
}

async function count(cypher: string, params: Record<string, unknown>): Promise<number> {
  const { records } = await t.driver.executeQuery(cypher, params);
  return Number(records[0]?.get(0));
}

async function expectSound(s: Stack): Promise<void> {
  const results = await checkInvariants(t.graph, s.space);
  expect(results.filter((r) => r.count > 0)).toEqual([]);
}

describe('creating, attaching and merging', () => {
  it('creates a profile holding all identifiers of a first event', async () => {
    const s = await newStack(t);
    const r = await s.send('identify', {
      userId: 'u1',
      anonymousId: 'a1',
      traits: { email: ' Jane@X.com ' },
    });
    expect(r).toMatchObject({ ok: true, duplicate: false, error: null, violations: [] });
    expect(r.profileId).toEqual(expect.any(String));
    expect(await idsOf(s, 'user_id', 'u1')).toEqual(['anonymous_id:a1', 'email:jane@x.com', 'user_id:u1']);
    // Lookups normalise as ingestion does.
    expect((await profileOf(s, 'email', 'JANE@x.com '))?.id).toBe(r.profileId);
    expect(await profileOf(s, 'email', 'nobody@x.com')).toBeNull();
    await expectSound(s);
  });

  it('attaches new identifiers of a known user to the same profile', async () => {
    const s = await newStack(t);
    const first = await s.send('track', { anonymousId: 'a1', event: 'Viewed' });
    const second = await s.send('identify', { anonymousId: 'a1', userId: 'u1' });
    expect(second.profileId).toBe(first.profileId);
    expect(await idsOf(s, 'anonymous_id', 'a1')).toEqual(['anonymous_id:a1', 'user_id:u1']);
  });

  it('merges profiles into the oldest, keeps a one-hop tombstone and moves no event', async () => {
    const s = await newStack(t);
    const older = await s.send('track', { anonymousId: 'a1', event: 'A' });
    const newer = await s.send('track', { anonymousId: 'a2', event: 'B', properties: { email: 'j@x.com' } });
    const third = await s.send('identify', { userId: 'u9', traits: { email: 'k@x.com' } });
    const joinA = await s.send('track', {
      anonymousId: 'a2',
      event: 'C',
      context: { traits: { email: 'k@x.com' } },
    });
    expect(joinA.profileId).toBe(newer.profileId);
    const joinB = await s.send('identify', { anonymousId: 'a1', traits: { email: 'j@x.com' } });
    expect(joinB.profileId).toBe(older.profileId);
    expect(await idsOf(s, 'user_id', 'u9')).toEqual([
      'anonymous_id:a1',
      'anonymous_id:a2',
      'email:j@x.com',
      'email:k@x.com',
      'user_id:u9',
    ]);
    // Both merged-away profiles are tombstones pointing straight at the survivor.
    for (const id of [newer.profileId, third.profileId]) {
      expect(
        await count(
          'MATCH (:Profile {id: $id, merged: true})-[:MERGED_INTO]->(s:Profile {id: $s}) RETURN count(*)',
          {
            id,
            s: older.profileId,
          },
        ),
      ).toBe(1);
    }
    // Events stay on the identifiers that carried them (in the event store; none in the graph).
    expect(
      await countRows(
        t.db,
        "SELECT count(DISTINCT message_id)::int AS n FROM event_identifiers WHERE space = $1 AND key = 'anonymous_id:a2'",
        [s.space],
      ),
    ).toBe(2);
    expect(await count('MATCH (e:Event {space: $space}) RETURN count(e)', { space: s.space })).toBe(0);
    expect(await count('MATCH (p:Profile {id: $id}) RETURN p.mergeCount', { id: older.profileId })).toBe(2);
    await expectSound(s);
  });

  it('records evidence of which event joined which identifiers', async () => {
    const s = await newStack(t);
    await s.send('identify', { userId: 'u1', anonymousId: 'a1', messageId: 'm-join' });
    const { records } = await t.driver.executeQuery(
      `MATCH (a:Identifier {space: $space})-[w:SEEN_WITH]->(b:Identifier {space: $space})
       RETURN a.key AS a, b.key AS b, w.firstMessageId AS m, keys(w) AS props`,
      { space: s.space },
    );
    // The edge names the first event that joined the pair and nothing more (ADR 0019).
    expect(records.map((r) => r.toObject())).toEqual([
      { a: 'user_id:u1', b: 'anonymous_id:a1', m: 'm-join', props: expect.arrayContaining(['firstAt']) },
    ]);
  });
});

describe('limits and priorities (§3, §4)', () => {
  it('keeps two user_ids apart: the shared email stays with the first user (§4 example)', async () => {
    const s = await newStack(t);
    const jane = await s.send('identify', { userId: 'abc123', traits: { email: 'jane@x.com' } });
    const other = await s.send('identify', {
      userId: 'abc456',
      traits: { email: 'jane@x.com', plan: 'pro' },
    });
    expect(other.profileId).not.toBe(jane.profileId);
    expect(other.violations).toEqual([
      expect.objectContaining({ code: 'LIMIT_EXCEEDED', identifier: { type: 'email', value: 'jane@x.com' } }),
    ]);
    expect(await idsOf(s, 'user_id', 'abc123')).toEqual(['email:jane@x.com', 'user_id:abc123']);
    expect(await idsOf(s, 'user_id', 'abc456')).toEqual(['user_id:abc456']);
    // Traits and identifiers are separate: the email is still a trait of the new profile.
    expect((await profileOf(s, 'user_id', 'abc456'))?.traits).toEqual({ email: 'jane@x.com', plan: 'pro' });
    await expectSound(s);
  });

  it('demotes a shared anonymous id instead of gluing two users together', async () => {
    const s = await newStack(t);
    const u1 = await s.send('identify', { userId: 'u1', anonymousId: 'shared' });
    const u2 = await s.send('track', { userId: 'u2', anonymousId: 'shared', event: 'Login' });
    expect(u2.profileId).not.toBe(u1.profileId);
    expect(u2.violations.map((v) => v.code)).toEqual(['LIMIT_EXCEEDED']);
    expect(await idsOf(s, 'anonymous_id', 'shared')).toEqual(['anonymous_id:shared', 'user_id:u1']);
    await expectSound(s);
  });

  it('enforces a count limit', async () => {
    const s = await newStack(t);
    await s.setRules(patchRule('email', { limit: 2 }));
    await s.send('identify', { userId: 'u1', traits: { email: 'a@x.com' } });
    await s.send('identify', { userId: 'u1', traits: { email: 'b@x.com' } });
    const third = await s.send('identify', { userId: 'u1', traits: { email: 'c@x.com' } });
    expect(third.violations).toEqual([
      expect.objectContaining({ code: 'LIMIT_EXCEEDED', identifier: { type: 'email', value: 'c@x.com' } }),
    ]);
    expect(await idsOf(s, 'user_id', 'u1')).toEqual(['email:a@x.com', 'email:b@x.com', 'user_id:u1']);
    // The demoted value was not left behind as an identifier without a profile.
    expect(await profileOf(s, 'email', 'c@x.com')).toBeNull();
    await expectSound(s);
  });

  it('counts a windowed limit over values added within the trailing window of event time', async () => {
    const s = await newStack(t);
    await s.setRules(patchRule('email', { limit: 1, window: 'DAY' }));
    const day0 = '2026-01-01T10:00:00.000Z';
    await s.send('identify', { userId: 'u1', traits: { email: 'one@x.com' }, timestamp: day0 });
    const sameDay = await s.send('identify', {
      userId: 'u1',
      traits: { email: 'two@x.com' },
      timestamp: '2026-01-01T20:00:00.000Z',
    });
    expect(sameDay.violations.map((v) => v.code)).toEqual(['LIMIT_EXCEEDED']);
    const later = await s.send('identify', {
      userId: 'u1',
      traits: { email: 'three@x.com' },
      timestamp: '2026-01-03T10:00:00.000Z',
    });
    expect(later.violations).toEqual([]);
    expect(await idsOf(s, 'user_id', 'u1')).toEqual(['email:one@x.com', 'email:three@x.com', 'user_id:u1']);
  });
});

describe('blocked values', () => {
  it('blocks the default values and refuses an event left with no identifier', async () => {
    const s = await newStack(t);
    const refused = await s.send('track', { userId: '0', event: 'X', messageId: 'blocked-only' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'NO_IDENTIFIERS' } });
    expect(refused.violations).toEqual([
      expect.objectContaining({ code: 'ID_VALUE_BLOCKED', identifier: { type: 'user_id', value: '0' } }),
    ]);
    // Refused means written nowhere: no event row, no deduplication claim, no identifier.
    expect((await storedCounts(t.db, s.space)).size).toBe(0);
    expect(
      await countRows(t.db, 'SELECT count(*)::int AS n FROM message_ids WHERE space = $1', [s.space]),
    ).toBe(0);
    expect(await count('MATCH (i:Identifier {space: $space}) RETURN count(i)', { space: s.space })).toBe(0);

    const kept = await s.send('identify', { userId: 'null', anonymousId: 'a1' });
    expect(kept.ok).toBe(true);
    expect(kept.violations.map((v) => v.code)).toEqual(['ID_VALUE_BLOCKED']);
    expect(await idsOf(s, 'anonymous_id', 'a1')).toEqual(['anonymous_id:a1']);
  });

  it('keeps many users sending userId "0" as separate profiles', async () => {
    const s = await newStack(t);
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const r = await s.send('identify', { userId: '0', anonymousId: `anon-${i}` });
      ids.add(String(r.profileId));
    }
    expect(ids.size).toBe(40);
    await expectSound(s);
  });

  it('applies exact and regex blocks set through the rules', async () => {
    const s = await newStack(t);
    await s.setRules(
      patchRule('email', {
        blockedValues: [
          { value: 'team@x.com', match: 'EXACT' },
          { value: '@example\\.com$', match: 'REGEX' },
        ],
      }),
    );
    const r = await s.send('identify', {
      userId: 'u1',
      traits: { email: 'team@x.com' },
      context: { traits: { email: 'joe@example.com' } },
    });
    expect(r.violations.map((v) => `${v.code} ${v.identifier.value}`).sort()).toEqual([
      'ID_VALUE_BLOCKED joe@example.com',
      'ID_VALUE_BLOCKED team@x.com',
    ]);
    expect(await idsOf(s, 'user_id', 'u1')).toEqual(['user_id:u1']);
  });
});

const externalIds = (type: string, ids: string[]) =>
  ids.map((id) => ({ id, type, collection: 'users', encoding: 'none' }));

describe('system caps (§4)', () => {
  it('stops merging at 100 merges but keeps resolving events to the profile', async () => {
    const s = await newStack(t);
    await s.setRules(patchRule('anonymous_id', { limit: 1000 }));
    const first = await s.send('track', { anonymousId: 'p0', event: 'Start' });
    for (let i = 1; i <= 101; i++) await s.send('track', { anonymousId: `p${i}`, event: 'Start' });
    // Each join carries the hub id and one profile's anonymous id: 101 joins, so 101 merges asked for.
    const joins = [];
    for (let i = 0; i <= 101; i++) {
      joins.push(
        await s.send('track', {
          anonymousId: `p${i}`,
          event: 'Join',
          context: { externalIds: externalIds('hub', ['root']) },
        }),
      );
    }
    expect(
      joins.slice(0, 101).every((j) => j.profileId === first.profileId && j.violations.length === 0),
    ).toBe(true);
    const capped = joins[101];
    expect(capped?.profileId).not.toBe(first.profileId);
    expect(capped?.violations).toEqual([
      expect.objectContaining({ code: 'MERGE_CAP_REACHED', identifier: { type: 'hub', value: 'root' } }),
    ]);
    expect(await count('MATCH (p:Profile {id: $id}) RETURN p.mergeCount', { id: first.profileId })).toBe(100);
    // The capped profile does not freeze: its events keep resolving to it.
    const after = await s.send('track', { anonymousId: 'p50', event: 'Later' });
    expect(after.profileId).toBe(first.profileId);
    await expectSound(s);
  });

  it('stops adding identifiers at 1,000 but keeps resolving events to the profile', async () => {
    const s = await newStack(t);
    await s.setRules((rules) => [
      ...rules,
      { type: 'tag', priority: 99, limit: 5000, window: 'EVER', blockedValues: [] },
    ]);
    let profileId: string | null = null;
    for (let batch = 0; batch < 10; batch++) {
      const size = batch === 9 ? 99 : 100;
      const tags = Array.from({ length: size }, (_, k) => `t${batch * 100 + k}`);
      const r = await s.send('track', {
        anonymousId: 'big',
        event: 'Tagged',
        context: { externalIds: externalIds('tag', tags) },
      });
      expect(r.violations).toEqual([]);
      profileId = r.profileId;
    }
    expect(
      await count('MATCH (:Identifier)-[:IDENTIFIES]->(p:Profile {id: $id}) RETURN count(*)', {
        id: profileId,
      }),
    ).toBe(1000);
    const over = await s.send('track', {
      anonymousId: 'big',
      event: 'Tagged',
      context: { externalIds: externalIds('tag', ['extra']) },
    });
    expect(over.profileId).toBe(profileId);
    expect(over.violations).toEqual([
      expect.objectContaining({
        code: 'IDENTIFIER_CAP_REACHED',
        identifier: { type: 'tag', value: 'extra' },
      }),
    ]);
    await expectSound(s);
  });
});

describe('traits (§5)', () => {
  const events = [
    {
      messageId: 't1',
      userId: 'u1',
      traits: { plan: 'free', name: 'Jo', age: 30 },
      timestamp: '2026-01-01T00:00:00Z',
    },
    { messageId: 't2', userId: 'u1', traits: { plan: 'pro', name: null }, timestamp: '2026-01-02T00:00:00Z' },
    {
      messageId: 't3',
      userId: 'u1',
      traits: { plan: 'team', nickname: '' },
      timestamp: '2026-01-03T00:00:00Z',
    },
    {
      messageId: 't0',
      userId: 'u1',
      traits: { plan: 'trial', name: 'Old' },
      timestamp: '2025-12-31T00:00:00Z',
    },
  ];

  it('takes the last write by event time per key, whatever the arrival order; null removes, "" is a value', async () => {
    const inOrder = await newStack(t);
    for (const e of events) await inOrder.send('identify', e);
    const reversed = await newStack(t);
    for (const e of [...events].reverse()) await reversed.send('identify', e);
    const expected = { plan: 'team', age: 30, nickname: '' };
    expect((await profileOf(inOrder, 'user_id', 'u1'))?.traits).toEqual(expected);
    expect((await profileOf(reversed, 'user_id', 'u1'))?.traits).toEqual(expected);
  });

  it('breaks event-time ties by receivedAt, then messageId', async () => {
    let now = Date.parse('2026-02-01T00:00:00Z');
    const s = await newStack(t, { clock: () => new Date(now) });
    const at = '2026-01-15T00:00:00Z';
    await s.send('identify', {
      userId: 'u1',
      messageId: 'b',
      traits: { x: 'later-received' },
      timestamp: at,
    });
    now -= 1000;
    await s.send('identify', {
      userId: 'u1',
      messageId: 'c',
      traits: { x: 'earlier-received' },
      timestamp: at,
    });
    now += 5000;
    await s.send('identify', { userId: 'u1', messageId: 'a', traits: { y: 'a' }, timestamp: at });
    await s.send('identify', { userId: 'u1', messageId: 'z', traits: { y: 'z' }, timestamp: at });
    await s.send('identify', { userId: 'u1', messageId: 'm', traits: { y: 'm' }, timestamp: at });
    expect((await profileOf(s, 'user_id', 'u1'))?.traits).toEqual({ x: 'later-received', y: 'z' });
  });

  it('writes traits only from identify, and combines traits key by key on merge', async () => {
    const s = await newStack(t);
    await s.send('identify', {
      anonymousId: 'a1',
      traits: { color: 'red', size: 'S' },
      timestamp: '2026-01-01T00:00:00Z',
    });
    await s.send('identify', { userId: 'u1', traits: { color: 'blue' }, timestamp: '2026-01-02T00:00:00Z' });
    await s.send('track', {
      userId: 'u1',
      event: 'X',
      context: { traits: { color: 'green', email: 'c@x.com' } },
    });
    expect((await profileOf(s, 'user_id', 'u1'))?.traits).toEqual({ color: 'blue' });
    // context.traits.email still became an identifier.
    expect(await idsOf(s, 'user_id', 'u1')).toEqual(['email:c@x.com', 'user_id:u1']);
    await s.send('track', { userId: 'u1', anonymousId: 'a1', event: 'Link' });
    expect((await profileOf(s, 'anonymous_id', 'a1'))?.traits).toEqual({ color: 'blue', size: 'S' });
  });
});

describe('accounts (§5)', () => {
  it('creates the account, links members, and takes account traits only from group', async () => {
    const s = await newStack(t);
    await s.send('group', {
      userId: 'u1',
      groupId: 'acme',
      traits: { name: 'Acme', seats: 5 },
      timestamp: '2026-01-02T00:00:00Z',
    });
    await s.send('group', {
      userId: 'u2',
      groupId: 'acme',
      traits: { seats: 3 },
      timestamp: '2026-01-01T00:00:00Z',
    });
    await s.send('group', { userId: 'u1', groupId: 'globex', traits: { name: 'Globex' } });
    const acme = await s.profiles.account(s.space, 'acme');
    expect(acme?.traits).toEqual({ name: 'Acme', seats: 5 });
    expect(await groupsOf(s, 'user_id', 'u1')).toEqual(['acme', 'globex']);
    expect((await profileOf(s, 'user_id', 'u1'))?.traits).toEqual({});
    expect(await groupsOf(s, 'user_id', 'u2')).toEqual(['acme']);
    expect(
      await count(
        'MATCH (:Profile)-[:MEMBER_OF]->(a:Account {space: $space, groupId: "acme"}) RETURN count(*)',
        {
          space: s.space,
        },
      ),
    ).toBe(2);
  });

  it('refuses an empty groupId with a coded error and writes nothing', async () => {
    const s = await newStack(t);
    const r = await s.send('group', { userId: 'u1', groupId: '' });
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', path: ['groupId'] } });
    expect(
      await count('MATCH (n {space: $space}) WHERE NOT n:Space AND NOT n:IdentifierRule RETURN count(n)', {
        space: s.space,
      }),
    ).toBe(0);
  });

  it('moves memberships to the survivor on merge', async () => {
    const s = await newStack(t);
    await s.send('identify', { userId: 'u1' });
    await s.send('group', { anonymousId: 'a1', groupId: 'acme' });
    await s.send('identify', { userId: 'u1', anonymousId: 'a1' });
    expect(await groupsOf(s, 'user_id', 'u1')).toEqual(['acme']);
  });
});

describe('identifier sources (§2)', () => {
  it('alias is recorded but does not merge profiles', async () => {
    const s = await newStack(t);
    const anon = await s.send('track', { anonymousId: 'a1', event: 'Visit' });
    const user = await s.send('identify', { userId: 'u1' });
    const alias = await s.send('alias', { userId: 'u1', previousId: 'a1', messageId: 'alias-1' });
    expect(alias).toMatchObject({ ok: true, profileId: user.profileId });
    expect((await profileOf(s, 'anonymous_id', 'a1'))?.id).toBe(anon.profileId);
    expect(
      await countRows(
        t.db,
        "SELECT count(*)::int AS n FROM aliases WHERE space = $1 AND id = 'alias-1' AND previous_id = 'a1'",
        [s.space],
      ),
    ).toBe(1);
  });

  it('takes device ids, advertising ids only with ad tracking on, push tokens and GA client ids', async () => {
    const s = await newStack(t);
    await s.send('track', {
      userId: 'u1',
      event: 'Open',
      context: {
        device: { id: 'dev-1', type: 'ios', advertisingId: 'ad-1', adTrackingEnabled: true, token: 'push-1' },
        integrations: { 'Google Analytics': { clientId: 'ga-1' } },
      },
    });
    await s.send('track', {
      userId: 'u2',
      event: 'Open',
      context: { device: { id: 'dev-2', type: 'android', advertisingId: 'ad-2', adTrackingEnabled: false } },
    });
    expect(await idsOf(s, 'ios.idfa', 'ad-1')).toEqual([
      'ga_client_id:ga-1',
      'ios.id:dev-1',
      'ios.idfa:ad-1',
      'ios.push_token:push-1',
      'user_id:u1',
    ]);
    expect(await idsOf(s, 'user_id', 'u2')).toEqual(['android.id:dev-2', 'user_id:u2']);
  });

  it('takes external ids and registers a new type in the rules on first sight', async () => {
    const s = await newStack(t);
    await s.send('identify', { userId: 'u1', context: { externalIds: externalIds('Shopify_ID', ['S-77']) } });
    expect(await idsOf(s, 'shopify_id', 'S-77')).toEqual(['shopify_id:S-77', 'user_id:u1']);
    const rules = await s.identity.rules(s.space);
    const rule = rules.find((r) => r.type === 'shopify_id');
    expect(rule).toMatchObject({ limit: 5, window: 'EVER' });
    expect(rule?.priority).toBe(Math.max(...rules.map((r) => r.priority)));
  });
});

describe('deduplication (§1)', () => {
  it('reports a re-sent messageId as a duplicate and changes nothing', async () => {
    const s = await newStack(t);
    const first = await s.send('identify', { userId: 'u1', messageId: 'same', traits: { a: 1 } });
    const again = await s.send('identify', { userId: 'u2', messageId: 'same', traits: { a: 2 } });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ ok: true, duplicate: true, messageId: 'same', profileId: null });
    expect(await profileOf(s, 'user_id', 'u2')).toBeNull();
    expect((await profileOf(s, 'user_id', 'u1'))?.traits).toEqual({ a: 1 });
  });

  it('applies an event once when the same messageId arrives concurrently', async () => {
    const s = await newStack(t);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        s.send('track', { userId: `u${i}`, event: 'X', messageId: 'race' }),
      ),
    );
    expect(results.filter((r) => r.ok && !r.duplicate)).toHaveLength(1);
    expect(results.filter((r) => r.duplicate)).toHaveLength(11);
    expect(await storedCounts(t.db, s.space)).toEqual(new Map([['race', 1]]));
    expect(await count('MATCH (p:Profile {space: $space}) RETURN count(p)', { space: s.space })).toBe(1);
    await expectSound(s);
  });
});

describe('batches (§1)', () => {
  it('applies valid items, reports each invalid one by index, and merges top-level context', async () => {
    const s = await newStack(t);
    const out = await s.ingest.batch(s.space, {
      context: { traits: { email: 'team@x.com' }, library: { name: 'test' } },
      batch: [
        { type: 'identify', userId: 'u1' },
        { type: 'track', userId: 'u1' },
        { type: 'track', userId: 'u1', event: 'Ok', messageId: 'dup' },
        { type: 'track', userId: 'u1', event: 'Ok', messageId: 'dup' },
        { type: 'page', userId: '0', name: 'Home', context: { traits: {} } },
      ],
    });
    expect(out).toMatchObject({ applied: 2, duplicates: 1, refused: 2, error: null });
    expect(out.results.map((r) => r.error?.code ?? (r.duplicate ? 'DUP' : 'OK'))).toEqual([
      'OK',
      'VALIDATION_FAILED',
      'OK',
      'DUP',
      'NO_IDENTIFIERS',
    ]);
    expect(out.results[1]?.error?.path).toEqual(['batch', 1, 'event']);
    expect(out.results[4]?.error?.path).toEqual(['batch', 4]);
    expect(await idsOf(s, 'user_id', 'u1')).toEqual(['email:team@x.com', 'user_id:u1']);
  });

  it('refuses an oversize batch whole', async () => {
    const s = await newStack(t);
    const out = await s.ingest.batch(s.space, {
      batch: Array.from({ length: 2501 }, (_, i) => ({ type: 'track', userId: `u${i}`, event: 'E' })),
    });
    expect(out).toMatchObject({ applied: 0, refused: 0, results: [], error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect((await storedCounts(t.db, s.space)).size).toBe(0);
  });
});
