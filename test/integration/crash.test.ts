// Issue 12 §4: exactly once across the two stores. The service runs in a child process that kills itself
// (SIGKILL, no clean-up of any kind) right after each step of a batch's two-store commit: the events
// stored with their batch pending, the graph's effect written, the effect copied back. Then either the
// client sends the batch again (Segment's libraries do on a lost connection), or nobody does and the next
// start-up's recovery pass must finish it. Either way: every event stored once, the identity effect
// written once, nothing pending, one change-log entry (docs/adr/0018-event-store.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/identity/index.ts';
import type { CommitStep } from '../../src/ingest/index.ts';
import type { Service } from '../../src/service.ts';
import { createServices, type Services } from '../../src/services.ts';
import { openTestGraph, uniqueSpace, type TestGraph } from '../support/graph.ts';
import { countRows, storedCounts } from '../support/postgres.ts';
import { startCrashChild, type CrashChild } from '../support/crash-child.ts';
import { startTestService } from '../support/service.ts';

let t: TestGraph;
let services: Services;
beforeAll(async () => {
  t = await openTestGraph();
  services = createServices(t.graph, t.db);
});
afterAll(() => t.close());

/** Starts the crash service, set to kill itself right after `crashAt` of the first batch. */
function startChild(crashAt: CommitStep): Promise<CrashChild> {
  return startCrashChild({ CRASH_AT: crashAt });
}

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

function postBatch(url: string, writeKey: string, batch: unknown[]): Promise<Response> {
  return fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(writeKey) },
    body: JSON.stringify({ batch }),
  });
}

/** A batch that needs every step: new identifiers, traits, an account, events of several types. */
function batchFor(space: string): unknown[] {
  const user = `${space}-u`;
  return [
    {
      type: 'identify',
      userId: user,
      anonymousId: `${space}-a`,
      traits: { plan: 'pro' },
      messageId: `${space}-1`,
    },
    {
      type: 'track',
      userId: user,
      event: 'Order Completed',
      properties: { total: 12 },
      messageId: `${space}-2`,
    },
    { type: 'group', userId: user, groupId: `${space}-g`, traits: { name: 'Acme' }, messageId: `${space}-3` },
    { type: 'page', anonymousId: `${space}-a`, name: 'Home', messageId: `${space}-4` },
  ];
}

/** What must hold once the batch is finished, however it got there. */
async function expectFinishedOnce(space: string, service: Service): Promise<void> {
  const stored = await storedCounts(t.db, space);
  expect(stored).toEqual(new Map([1, 2, 3, 4].map((n) => [`${space}-${n}`, 1])));
  expect(
    await countRows(t.db, 'SELECT count(*)::int AS n FROM pending_batches WHERE space = $1', [space]),
  ).toBe(0);
  expect(
    await countRows(t.db, "SELECT count(*)::int AS n FROM changes WHERE space = $1 AND kind = 'events'", [
      space,
    ]),
  ).toBe(1);
  // Each event is found through the identifiers it resolved with, once per identifier.
  expect(
    await countRows(
      t.db,
      'SELECT count(DISTINCT message_id)::int AS n FROM event_identifiers WHERE space = $1',
      [space],
    ),
  ).toBe(4);
  const profile = await service.services.profiles.profileBy(space, 'user_id', `${space}-u`);
  expect(profile?.traits).toEqual({ plan: 'pro' });
  const loaders = service.services.profiles.loaders(space);
  const events = await service.services.profiles.events(loaders, profile?.id ?? '', { first: 10 });
  expect(events.nodes.map((e) => e.messageId).sort()).toEqual([1, 2, 3, 4].map((n) => `${space}-${n}`));
  expect((await service.services.profiles.account(space, `${space}-g`))?.memberCount).toBe(1);
  const { records } = await t.driver.executeQuery(
    'MATCH (p:Profile {space: $space}) WHERE p.merged IS NULL RETURN count(p) AS n',
    { space },
  );
  expect(Number(records[0]?.get('n'))).toBe(1);
}

describe('kill -9 between the two stores', () => {
  for (const step of ['stored', 'applied', 'finished'] as const) {
    for (const then of ['resent', 'recovered at start-up'] as const) {
      it(`after "${step}", ${then}: every event stored once, nothing lost`, async () => {
        const space = uniqueSpace(`crash-${step}`);
        await services.spaces.createSpace(space);
        const writeKey = (await services.spaces.createKey(space, 'write')).secret;
        const batch = batchFor(space);

        const crashing = await startChild(step);
        const answer = await postBatch(crashing.url, writeKey, batch).then(
          (r) => `HTTP ${r.status}`,
          () => 'connection lost',
        );
        expect(await crashing.exited).toBe('SIGKILL');
        expect(answer).toBe('connection lost');
        const pending = await countRows(
          t.db,
          'SELECT count(*)::int AS n FROM pending_batches WHERE space = $1',
          [space],
        );
        expect(pending).toBe(step === 'finished' ? 0 : 1);

        const service = await startTestService();
        try {
          if (then === 'resent') {
            const res = await postBatch(service.url, writeKey, batch);
            expect(res.status).toBe(200);
            const body = (await res.json()) as { duplicates: number; applied: number };
            expect(body).toMatchObject({ applied: 0, duplicates: 4 });
          }
          await expectFinishedOnce(space, service);
        } finally {
          await service.stop();
        }
      });
    }
  }

  it('after "stored" of a fast-path batch (one transaction, nothing pending): resent, stored once', async () => {
    const space = uniqueSpace('crash-fast');
    await services.spaces.createSpace(space);
    const writeKey = (await services.spaces.createKey(space, 'write')).secret;
    const known = await startTestService();
    try {
      const res = await postBatch(known.url, writeKey, [
        { type: 'identify', userId: `${space}-u`, messageId: `${space}-0` },
      ]);
      expect(res.status).toBe(200);
    } finally {
      await known.stop();
    }
    const batch = [1, 2, 3].map((n) => ({
      type: 'track',
      userId: `${space}-u`,
      event: 'Seen',
      messageId: `${space}-${n}`,
    }));
    const crashing = await startChild('stored');
    await postBatch(crashing.url, writeKey, batch).catch(() => undefined);
    expect(await crashing.exited).toBe('SIGKILL');
    const service = await startTestService();
    try {
      const res = await postBatch(service.url, writeKey, batch);
      expect(await res.json()).toMatchObject({ applied: 0, duplicates: 3 });
      expect(await storedCounts(t.db, space)).toEqual(new Map([0, 1, 2, 3].map((n) => [`${space}-${n}`, 1])));
      expect(
        await countRows(t.db, 'SELECT count(*)::int AS n FROM pending_batches WHERE space = $1', [space]),
      ).toBe(0);
      const profile = await service.services.profiles.profileBy(space, 'user_id', `${space}-u`);
      const events = await service.services.profiles.events(
        service.services.profiles.loaders(space),
        profile?.id ?? '',
        {
          first: 10,
        },
      );
      expect(events.nodes).toHaveLength(4);
    } finally {
      await service.stop();
    }
  });

  it('under load, killed mid-stream: acked events lost 0, stored twice 0', async () => {
    const space = uniqueSpace('crash-load');
    await services.spaces.createSpace(space);
    const writeKey = (await services.spaces.createKey(space, 'write')).secret;
    // Batches of new and known users (fast and slow paths, merges), sent by four clients at once.
    const batches = Array.from({ length: 80 }, (_, b) =>
      Array.from({ length: 10 }, (_, i) => {
        const n = b * 10 + i;
        const user = `${space}-u${n % 37}`;
        return n % 3 === 0
          ? {
              type: 'identify',
              userId: user,
              anonymousId: `${space}-a${n % 53}`,
              traits: { n },
              messageId: `${space}-${n}`,
            }
          : { type: 'track', userId: user, event: 'Seen', messageId: `${space}-${n}` };
      }),
    );
    const acked = new Set<string>();
    const unacked: unknown[][] = [];
    const statuses = new Set<string>();
    const crashing = await startChild('none' as CommitStep);
    let next = 0;
    const sender = async () => {
      for (;;) {
        const b = next++;
        const batch = batches[b];
        if (batch === undefined) return;
        const ok = await postBatch(crashing.url, writeKey, batch).then(
          async (r) => {
            if (r.status !== 200) statuses.add(`${r.status} ${await r.text()}`);
            return r.status === 200;
          },
          () => false,
        );
        if (ok) for (const e of batch) acked.add(e.messageId);
        else unacked.push(batch);
      }
    };
    // Killed once 15 batches are acknowledged, with more in flight or waiting.
    const killer = (async () => {
      while (acked.size < 150) await new Promise((r) => setTimeout(r, 20));
      crashing.child.kill('SIGKILL');
    })();
    await Promise.all([sender(), sender(), sender(), sender(), killer]);
    expect(await crashing.exited).toBe('SIGKILL');
    console.log(
      `kill -9 under load: ${acked.size} events acknowledged before the kill, ${unacked.length} batches not`,
    );
    expect([...statuses]).toEqual([]);
    expect(acked.size).toBeGreaterThan(0);
    expect(unacked.length).toBeGreaterThan(0);

    const service = await startTestService();
    try {
      // The clients send again what was not acknowledged, as Segment's libraries do.
      const resent = await Promise.all(unacked.map((batch) => postBatch(service.url, writeKey, batch)));
      expect(resent.map((r) => r.status).filter((status) => status !== 200)).toEqual([]);
      const stored = await storedCounts(t.db, space);
      expect([...acked].filter((id) => stored.get(id) !== 1)).toEqual([]);
      expect([...stored.values()].filter((n) => n !== 1)).toEqual([]);
      expect(stored.size).toBe(800);
      expect(
        await countRows(t.db, 'SELECT count(*)::int AS n FROM pending_batches WHERE space = $1', [space]),
      ).toBe(0);
      expect((await checkInvariants(t.graph, space)).filter((r) => r.count > 0)).toEqual([]);
    } finally {
      await service.stop();
    }
  }, 180_000);
});
