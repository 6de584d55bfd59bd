// A batch resolves exactly as its events would one transaction at a time, in order (SEMANTICS.md §4),
// under the default rules, where order matters: demotions, merges, traits and accounts all agree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/identity/index.ts';
import { prng } from '../support/prng.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { newStack, type Stack } from '../support/stack.ts';

let t: TestGraph;
beforeAll(async () => {
  t = await openTestGraph();
});
afterAll(() => t.close());

/** Events whose identifiers collide on purpose: shared anonymous ids and emails across users. */
function generate(count: number): Record<string, unknown>[] {
  const rand = prng(42);
  const pick = (n: number) => Math.floor(rand() * n);
  return Array.from({ length: count }, (_, i) => {
    const user = rand() < 0.6 ? `u${pick(25)}` : undefined;
    const anon = user === undefined || rand() < 0.5 ? `a${pick(40)}` : undefined;
    const email = rand() < 0.35 ? `e${pick(20)}@x.com` : undefined;
    const base = {
      messageId: `b${i}`,
      timestamp: new Date(Date.UTC(2026, 0, 1) + pick(100_000) * 1000).toISOString(),
      userId: user,
      anonymousId: anon,
    };
    const kind = pick(10);
    if (kind < 4) return { type: 'identify', ...base, traits: { n: i, ...(email ? { email } : {}) } };
    if (kind < 5) return { type: 'group', ...base, groupId: `g${pick(5)}`, traits: { size: i } };
    return { type: 'track', ...base, event: 'E', context: email ? { traits: { email } } : {} };
  });
}

async function snapshot(s: Stack) {
  const profiles = await t.driver.executeQuery(
    `MATCH (p:Profile {space: $space}) WHERE p.merged IS NULL
     MATCH (i:Identifier)-[:IDENTIFIES]->(p)
     WITH p, i ORDER BY i.key
     WITH p, collect(i.key) AS keys
     OPTIONAL MATCH (p)-[:MEMBER_OF]->(a:Account)
     WITH p, keys, a ORDER BY a.groupId
     RETURN keys, p.traits AS traits, p.mergeCount AS merges, collect(a.groupId) AS accounts
     ORDER BY keys[0]`,
    { space: s.space },
  );
  const events = await t.driver.executeQuery(
    `MATCH (e:Event {space: $space})
     OPTIONAL MATCH (e)-[:FROM]->(i:Identifier)
     WITH e, i ORDER BY i.key
     RETURN e.messageId AS m, e.violations AS v, collect(i.key) AS keys ORDER BY m`,
    { space: s.space },
  );
  const accounts = await t.driver.executeQuery(
    'MATCH (a:Account {space: $space}) RETURN a.groupId AS g, a.traits AS traits ORDER BY g',
    { space: s.space },
  );
  const sorted = (json: unknown) =>
    JSON.stringify(Object.entries(JSON.parse(String(json)) as object).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    profiles: profiles.records.map((r) => ({
      keys: r.get('keys') as string[],
      merges: Number(r.get('merges')),
      accounts: r.get('accounts') as string[],
      traits: sorted(r.get('traits')),
    })),
    events: events.records.map((r) => r.toObject()),
    accounts: accounts.records.map((r) => ({ g: r.get('g'), traits: sorted(r.get('traits')) })),
  };
}

describe('batches', () => {
  it('resolve exactly as the same events one at a time, in order', async () => {
    const events = generate(300);
    const single = await newStack(t);
    const singles = [];
    for (const { type, ...input } of events) singles.push(await single.send(type as 'track', input));

    const batched = await newStack(t);
    const outcomes = [];
    for (let i = 0; i < events.length; i += 15) {
      const out = await batched.ingest.batch(batched.space, { batch: events.slice(i, i + 15) });
      outcomes.push(...out.results);
    }
    const whole = await newStack(t);
    const all = await whole.ingest.batch(whole.space, { batch: events });

    // Demotions and refusals are reported the same way per event.
    const codes = (rs: { ok: boolean; violations: { code: string }[] }[]) =>
      rs.map((r) => `${r.ok}:${r.violations.map((v) => v.code).join(',')}`);
    expect(codes(outcomes)).toEqual(codes(singles));
    expect(codes(all.results)).toEqual(codes(singles));
    expect(singles.some((r) => r.violations.some((v) => v.code === 'LIMIT_EXCEEDED'))).toBe(true);

    const expected = await snapshot(single);
    expect(expected.profiles.some((p) => p.merges > 0)).toBe(true);
    expect(await snapshot(batched)).toEqual(expected);
    expect(await snapshot(whole)).toEqual(expected);
    for (const s of [single, batched, whole]) {
      expect((await checkInvariants(t.graph, s.space)).filter((r) => r.count > 0)).toEqual([]);
    }
  });

  it('treats a messageId repeated inside one batch as a duplicate', async () => {
    const s = await newStack(t);
    const out = await s.ingest.batch(s.space, {
      batch: [
        { type: 'identify', userId: 'd1', messageId: 'same', traits: { a: 1 } },
        { type: 'identify', userId: 'd2', messageId: 'same', traits: { a: 2 } },
      ],
    });
    expect(out).toMatchObject({ applied: 1, duplicates: 1, refused: 0 });
    expect(await s.profiles.profileBy(s.space, 'user_id', 'd2')).toBeNull();
  });
});
