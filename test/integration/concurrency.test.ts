// Many writers at once produce the same profiles as applying the same events one by one (issue #3 §8),
// checked against a sequential replay, against the expected connected components, and with the
// invariant checker. Rules are set so that order cannot matter (limits no event can reach).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/identity/index.ts';
import { prng } from '../support/prng.ts';
import { storedCounts } from '../support/postgres.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { newStack, patchRule, type Stack } from '../support/stack.ts';

const PEOPLE = 150;
const EVENTS = 2000;
const WRITERS = 16;

let t: TestGraph;
beforeAll(async () => {
  t = await openTestGraph();
});
afterAll(() => t.close());

interface Generated {
  type: 'identify' | 'track';
  input: Record<string, unknown>;
  keys: string[];
}

function generate(seed: number): Generated[] {
  const rand = prng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const events: Generated[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const k = pick(PEOPLE);
    const anon = rand() < 0.8 ? `a${k}-${pick(3)}` : undefined;
    const user = anon === undefined || rand() < 0.3 ? `u${k}` : undefined;
    const email = rand() < 0.3 ? `p${k}.${pick(2)}@x.com` : undefined;
    const keys = [
      ...(user ? [`user_id:${user}`] : []),
      ...(anon ? [`anonymous_id:${anon}`] : []),
      ...(email ? [`email:${email}`] : []),
    ];
    const timestamp = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
    const base = { messageId: `m${i}`, timestamp, userId: user, anonymousId: anon };
    events.push(
      rand() < 0.5
        ? { type: 'identify', input: { ...base, traits: { last: i, ...(email ? { email } : {}) } }, keys }
        : { type: 'track', input: { ...base, event: 'E', properties: email ? { email } : {} }, keys },
    );
  }
  return events;
}

/** The partition the events imply: connected components of identifiers that appeared together. */
function components(events: Generated[]): string[] {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    const p = parent.get(k) ?? k;
    if (p === k) return k;
    const root = find(p);
    parent.set(k, root);
    return root;
  };
  for (const e of events) {
    for (const k of e.keys) if (!parent.has(k)) parent.set(k, k);
    for (const k of e.keys.slice(1)) parent.set(find(k), find(e.keys[0] as string));
  }
  const groups = new Map<string, string[]>();
  for (const k of parent.keys()) groups.set(find(k), [...(groups.get(find(k)) ?? []), k]);
  return [...groups.values()].map((g) => g.sort().join(' ')).sort();
}

function sortedJson(value: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))));
}

async function partition(space: string): Promise<{ groups: string[]; traits: string[] }> {
  const { records } = await t.driver.executeQuery(
    `MATCH (p:Profile {space: $space}) WHERE coalesce(p.merged, false) = false
     MATCH (i:Identifier)-[:IDENTIFIES]->(p)
     WITH p, i ORDER BY i.key
     RETURN p.id AS id, p.traits AS traits, collect(i.key) AS keys`,
    { space },
  );
  const rows = records.map((r) => ({
    keys: (r.get('keys') as string[]).join(' '),
    traits: sortedJson(JSON.parse(String(r.get('traits'))) as Record<string, unknown>),
  }));
  rows.sort((a, b) => (a.keys < b.keys ? -1 : 1));
  return { groups: rows.map((r) => r.keys), traits: rows.map((r) => `${r.keys} => ${r.traits}`) };
}

async function orderFreeStack(): Promise<Stack> {
  const s = await newStack(t);
  await s.setRules((rules) =>
    [
      patchRule('user_id', { limit: 1000 }),
      patchRule('anonymous_id', { limit: 1000 }),
      patchRule('email', { limit: 1000 }),
    ].reduce((acc, f) => f(acc), rules),
  );
  return s;
}

describe('concurrent writers', () => {
  it(
    `${WRITERS} writers applying ${EVENTS} overlapping events match a sequential replay`,
    { timeout: 300_000 },
    async () => {
      const events = generate(20261128);
      const expected = components(events);

      const concurrent = await orderFreeStack();
      const queue = [...events];
      const began = performance.now();
      const outcomes: { ok: boolean; duplicate: boolean }[] = [];
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
            outcomes.push(await concurrent.send(e.type, e.input));
          }
        }),
      );
      console.log(
        `${WRITERS} writers: ${Math.round((EVENTS * 1000) / (performance.now() - began))} events/s`,
      );
      expect(outcomes).toHaveLength(EVENTS);
      expect(outcomes.every((o) => o.ok && !o.duplicate)).toBe(true);

      // Re-sending everything concurrently changes nothing.
      const before = await partition(concurrent.space);
      const resent = await Promise.all(events.slice(0, 200).map((e) => concurrent.send(e.type, e.input)));
      expect(resent.every((o) => o.duplicate)).toBe(true);
      expect(await partition(concurrent.space)).toEqual(before);

      const sequential = await orderFreeStack();
      const started = performance.now();
      for (const e of events) await sequential.send(e.type, e.input);
      console.log(`sequential: ${Math.round((EVENTS * 1000) / (performance.now() - started))} events/s`);

      const got = await partition(concurrent.space);
      const want = await partition(sequential.space);
      expect(got.groups).toEqual(expected);
      expect(want.groups).toEqual(expected);
      expect(got.traits).toEqual(want.traits);
      for (const space of [concurrent.space, sequential.space]) {
        expect((await checkInvariants(t.graph, space)).filter((r) => r.count > 0)).toEqual([]);
      }
      // Every event stored once in the event store, none in the graph.
      const stored = await storedCounts(t.db, concurrent.space);
      expect(stored.size).toBe(EVENTS);
      expect([...stored.values()].every((n) => n === 1)).toBe(true);
      // PostgreSQL's identity_map, kept incrementally by 16 concurrent writers' commits, equals the
      // mapping recomputed from scratch from the graph (every identifier → its live profile).
      for (const space of [concurrent.space, sequential.space]) {
        const { records } = await t.driver.executeQuery(
          'MATCH (i:Identifier {space: $space})-[:IDENTIFIES]->(p:Profile) RETURN i.key AS key, p.id AS id',
          { space },
        );
        const fromGraph = new Map(records.map((r) => [String(r.get('key')), String(r.get('id'))]));
        const { rows } = await t.db.pool.query<{ key: string; profile_id: string }>(
          'SELECT key, profile_id FROM identity_map WHERE space = $1',
          [space],
        );
        expect(new Map(rows.map((r) => [r.key, r.profile_id]))).toEqual(fromGraph);
      }
    },
  );
});
