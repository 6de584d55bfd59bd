// Group commit against Neo4j: concurrent requests of a space share transactions (src/ingest/write-queue.ts)
// and still get exactly what they would get one by one: their own results, the same profiles and traits,
// one stored copy of a messageId sent twice at once, and a clean invariant check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/identity/index.ts';
import { IngestService } from '../../src/ingest/index.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { newStack } from '../support/stack.ts';

let t: TestGraph;
beforeAll(async () => {
  t = await openTestGraph();
});
afterAll(() => t.close());

const REQUESTS = 12;
const PER_REQUEST = 10;

/** Request r: identifies and tracks of six users shared by all requests, with distinct times. */
function request(r: number): Record<string, unknown>[] {
  return Array.from({ length: PER_REQUEST }, (_, i) => {
    const n = r * PER_REQUEST + i;
    const user = `u${n % 6}`;
    const timestamp = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
    return i % 2 === 0
      ? {
          type: 'identify',
          messageId: `m${n}`,
          userId: user,
          anonymousId: `a${n % 9}`,
          timestamp,
          traits: { last: n },
        }
      : { type: 'track', messageId: `m${n}`, userId: user, event: 'Clicked', timestamp };
  });
}

async function profiles(space: string): Promise<string[]> {
  const { records } = await t.driver.executeQuery(
    `MATCH (p:Profile {space: $space}) WHERE p.merged IS NULL
     MATCH (i:Identifier)-[:IDENTIFIES]->(p)
     WITH p, i ORDER BY i.key
     RETURN collect(i.key) AS keys, p.traits AS traits ORDER BY keys[0]`,
    { space },
  );
  return records.map((r) => `${(r.get('keys') as string[]).join(' ')} => ${String(r.get('traits'))}`);
}

describe('group commit', () => {
  it('concurrent batches share transactions and end as a sequential replay', async () => {
    const shared = await newStack(t);
    const before = t.queries.filter((q) => q === 'identity/check-batch').length;
    const answers = await Promise.all(
      Array.from({ length: REQUESTS }, (_, r) => shared.ingest.batch(shared.space, { batch: request(r) })),
    );
    const transactions = t.queries.filter((q) => q === 'identity/check-batch').length - before;
    expect(transactions).toBeLessThan(REQUESTS);
    answers.forEach((answer, r) => {
      expect(answer.error).toBeNull();
      expect(answer.applied).toBe(PER_REQUEST);
      expect(answer.results.map((o) => o.messageId)).toEqual(request(r).map((e) => e.messageId));
    });

    const sequential = await newStack(t);
    for (let r = 0; r < REQUESTS; r++) await sequential.ingest.batch(sequential.space, { batch: request(r) });

    expect(await profiles(shared.space)).toEqual(await profiles(sequential.space));
    expect((await checkInvariants(t.graph, shared.space)).filter((c) => c.count > 0)).toEqual([]);
  });

  it('a messageId sent in two requests that share a transaction is stored once, once a duplicate', async () => {
    const s = await newStack(t);
    // One transaction at a time: the first request runs alone, the two copies share the next one.
    const ingest = new IngestService((space, batch) => s.commit.apply(space, batch), { writers: 1 });
    const event = {
      type: 'track',
      messageId: 'twice',
      userId: 'u1',
      event: 'E',
      timestamp: '2026-01-01T00:00:00Z',
    };
    const [first, second, third] = await Promise.all([
      ingest.batch(s.space, { batch: [{ ...event, messageId: 'before' }] }),
      ingest.batch(s.space, { batch: [event] }),
      ingest.batch(s.space, { batch: [event] }),
    ]);
    expect(first?.applied).toBe(1);
    expect([second?.applied, third?.applied].sort()).toEqual([0, 1]);
    expect([second?.duplicates, third?.duplicates].sort()).toEqual([0, 1]);
    const { rows } = await t.db.pool.query(
      "SELECT count(*)::int AS n FROM tracks WHERE space = $1 AND id = 'twice'",
      [s.space],
    );
    expect(rows[0]?.n).toBe(1);
  });
});
