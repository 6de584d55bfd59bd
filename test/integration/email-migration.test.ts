// Issue 10 "Existing data": emails stored before SEMANTICS.md §8's normalisation (invisible characters,
// NFD) are re-normalised once, resumably; collisions are resolved by the ordinary rules and recorded.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants, reviewLists } from '../../src/identity/index.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { newStack, patchRule, type Stack } from '../support/stack.ts';

let t: TestGraph;
beforeAll(async () => {
  t = await openTestGraph();
});
afterAll(() => t.close());

/** Writes an email identifier as an older version stored it (not normalised), with one event from it. */
async function staleEmail(s: Stack, profileOf: { type: string; value: string }, value: string) {
  await t.driver.executeQuery(
    `MATCH (:Identifier {space: $space, key: $owner})-[:IDENTIFIES]->(p:Profile)
     CREATE (i:Identifier {space: $space, key: 'email:' + $value, type: 'email', value: $value,
                           firstSeen: datetime(), lastSeen: datetime()})
     CREATE (i)-[:IDENTIFIES {since: datetime(), by: 'old'}]->(p)
     CREATE (:Event {space: $space, messageId: 'old-' + $value, type: 'identify',
                     timestamp: datetime(), receivedAt: datetime(), context: '{}', integrations: '{}',
                     violations: '[]'})-[:FROM]->(i)`,
    { space: s.space, owner: `${profileOf.type}:${profileOf.value}`, value },
  );
}

async function emailsOf(s: Stack, type: string, value: string): Promise<string[]> {
  const { records } = await t.driver.executeQuery(
    `MATCH (:Identifier {space: $space, key: $key})-[:IDENTIFIES]->(p:Profile)
     MATCH (e:Identifier {type: 'email'})-[:IDENTIFIES]->(p)
     RETURN e.value AS value ORDER BY value`,
    { space: s.space, key: `${type}:${value}` },
  );
  return records.map((r) => String(r.get('value')));
}

async function eventsFrom(s: Stack, key: string): Promise<string[]> {
  const { records } = await t.driver.executeQuery(
    `MATCH (e:Event)-[:FROM]->(:Identifier {space: $space, key: $key}) RETURN e.messageId AS id ORDER BY id`,
    { space: s.space, key },
  );
  return records.map((r) => String(r.get('id')));
}

describe('re-normalisation of stored emails (§8)', () => {
  it('renames, folds and resolves collisions by the ordinary rules, once, resumably', async () => {
    const s = await newStack(t);
    await s.send('identify', { userId: 'u1', traits: { email: 'jane@x.com' } });
    await s.send('identify', { userId: 'u2' });
    await s.send('identify', { userId: 'u3' });
    await s.send('identify', { anonymousId: 'a8', traits: { email: 'ann@x.com' } });
    await s.send('identify', { anonymousId: 'a9' });

    // No collision: renamed in place.
    await staleEmail(s, { type: 'user_id', value: 'u3' }, 'bob\u200b@x.com');
    // Collides on the same profile: folded.
    await staleEmail(s, { type: 'user_id', value: 'u1' }, '\ufeffjane@x.com');
    // Collides with another user's profile: two user_ids may not merge, so u2 loses the stale address.
    await staleEmail(s, { type: 'user_id', value: 'u2' }, 'jane\u200b@x.com');
    // Collides with an anonymous profile: the ordinary rules merge them; then a second stale form of the
    // same address on the merged profile is folded.
    await staleEmail(s, { type: 'anonymous_id', value: 'a9' }, 'ANN\u200b@x.com');
    await staleEmail(s, { type: 'anonymous_id', value: 'a9' }, 'ann\u00ad@x.com');

    const id = `test-${randomUUID()}`;
    const seen: number[] = [];
    const counts = await s.identity.renormaliseEmails({
      apply: (space, events) => s.commit.apply(space, events),
      id,
      space: s.space,
      progress: (c) => seen.push(c.scanned),
    });
    expect(counts).toMatchObject({ renamed: 1, folded: 2, resolved: 2, unresolved: 0 });
    expect(seen.length).toBeGreaterThan(0);

    expect(await emailsOf(s, 'user_id', 'u3')).toEqual(['bob@x.com']);
    expect(await emailsOf(s, 'user_id', 'u1')).toEqual(['jane@x.com']);
    expect(await emailsOf(s, 'user_id', 'u2')).toEqual([]);
    expect(await emailsOf(s, 'anonymous_id', 'a9')).toEqual(['ann@x.com']);
    expect(await emailsOf(s, 'anonymous_id', 'a8')).toEqual(['ann@x.com']);
    // The stale identifiers' events now come from the one identifier of the address.
    expect(await eventsFrom(s, 'email:jane@x.com')).toContain('old-\ufeffjane@x.com');
    expect(await eventsFrom(s, 'email:jane@x.com')).not.toContain('old-jane\u200b@x.com');
    // u2 could not merge with u1: its event of the address stays on its own profile.
    expect(await eventsFrom(s, 'user_id:u2')).toContain('old-jane\u200b@x.com');
    expect(await eventsFrom(s, 'email:bob@x.com')).toEqual(['old-bob\u200b@x.com']);
    // Each resolution is recorded as an event of its own, in the event store.
    const { rows } = await t.db.pool.query(
      "SELECT count(*)::int AS n FROM identifies WHERE space = $1 AND id LIKE 'sg-migration-%'",
      [s.space],
    );
    expect(rows[0]?.n).toBe(2);
    expect((await checkInvariants(t.graph, s.space)).filter((r) => r.count > 0)).toEqual([]);

    // Done: a second run changes nothing and reports the same totals.
    expect(
      await s.identity.renormaliseEmails({
        apply: (space, events) => s.commit.apply(space, events),
        id,
        space: s.space,
      }),
    ).toEqual(counts);
  });

  it('stops when asked and resumes from its cursor', async () => {
    const s = await newStack(t);
    await s.send('identify', { userId: 'r1' });
    await staleEmail(s, { type: 'user_id', value: 'r1' }, 'r\u200b@x.com');
    const id = `test-${randomUUID()}`;
    const stopped = await s.identity.renormaliseEmails({
      apply: (space, events) => s.commit.apply(space, events),
      id,
      space: s.space,
      stopped: () => true,
    });
    expect(stopped.renamed).toBe(0);
    expect(await emailsOf(s, 'user_id', 'r1')).toEqual(['r\u200b@x.com']);
    const resumed = await s.identity.renormaliseEmails({
      apply: (space, events) => s.commit.apply(space, events),
      id,
      space: s.space,
    });
    expect(resumed.renamed).toBe(1);
    expect(await emailsOf(s, 'user_id', 'r1')).toEqual(['r@x.com']);
  });
});

describe('profiles glued by values now blocked (graph:check)', () => {
  it('lists a profile that joined visitors through userId "NULL" under rules without the defaults', async () => {
    const s = await newStack(t);
    // A space that kept its own rules from before §8: user_id blocks nothing.
    await s.setRules(patchRule('user_id', { blockedValues: [] }));
    await s.send('identify', { userId: 'NULL', anonymousId: 'visitor-1' });
    await s.send('identify', { userId: 'NULL', anonymousId: 'visitor-2' });
    await s.send('identify', { userId: 'clean', anonymousId: 'visitor-3' });
    const [listed] = await reviewLists(t.graph, s.space);
    expect(listed).toMatchObject({ check: 'profiles-with-blocked-values', count: 1 });
    expect(listed?.examples[0]).toContain('(user_id:NULL)');
  });
});
