// Group commit's scheduling (src/ingest/write-queue.ts), with an apply function that records its calls
// and answers when told to. What the shared transactions write is checked against Neo4j in
// test/integration/group-commit.test.ts.
import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../src/errors.ts';
import type { ApplyResult } from '../../src/identity/index.ts';
import type { ValidEvent } from '../../src/ingest/event.ts';
import { WriteQueue } from '../../src/ingest/write-queue.ts';

const ev = (messageId: string) => ({ messageId }) as ValidEvent;
const batch = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ev(`${prefix}${i}`));

interface Call {
  space: string;
  ids: string[];
  finish: (error?: Error) => void;
}

/** An apply function that holds every call until `finish`; answers one result per event. */
function recorder() {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const apply = (space: string, events: ValidEvent[]) =>
    new Promise<ApplyResult[]>((resolve, reject) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls.push({
        space,
        ids: events.map((e) => e.messageId),
        finish: (error) => {
          inFlight -= 1;
          if (error) reject(error);
          else resolve(events.map((e) => ({ status: 'applied', profileId: e.messageId, violations: [] })));
        },
      });
    });
  return { apply, calls, maxInFlight: () => maxInFlight };
}

const tick = () => new Promise((r) => setImmediate(r));
const profileIds = (rs: ApplyResult[]) => rs.map((r) => (r.status === 'applied' ? r.profileId : r.status));

describe('WriteQueue', () => {
  it('shares one call among requests that wait, in arrival order, each answered with its own results', async () => {
    const r = recorder();
    const q = new WriteQueue(r.apply, { maxEvents: 10, writers: 1 });
    const first = q.submit('s', batch('a', 3));
    const waiting = [
      q.submit('s', batch('b', 4)),
      q.submit('s', batch('c', 5)),
      q.submit('s', batch('d', 2)),
    ];
    await tick();
    expect(r.calls.map((c) => c.ids.length)).toEqual([3]);
    r.calls[0]?.finish();
    expect(profileIds(await first)).toEqual(['a0', 'a1', 'a2']);
    await tick();
    // b and c fit into 10 events; d waits for the next call.
    expect(r.calls[1]?.ids).toEqual([...batch('b', 4), ...batch('c', 5)].map((e) => e.messageId));
    r.calls[1]?.finish();
    await tick();
    expect(r.calls[2]?.ids).toEqual(['d0', 'd1']);
    r.calls[2]?.finish();
    const [b, c, d] = await Promise.all(waiting);
    expect(profileIds(b as ApplyResult[])).toEqual(['b0', 'b1', 'b2', 'b3']);
    expect(profileIds(c as ApplyResult[])).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(profileIds(d as ApplyResult[])).toEqual(['d0', 'd1']);
  });

  it('keeps at most `writers` calls in flight per space; spaces do not wait for each other', async () => {
    const r = recorder();
    const q = new WriteQueue(r.apply, { maxEvents: 2, writers: 2 });
    const all = [
      ...Array.from({ length: 6 }, (_, i) => q.submit('s', batch(`s${i}-`, 2))),
      q.submit('t', batch('t', 1)),
    ];
    await tick();
    expect(r.calls.map((c) => c.space)).toEqual(['s', 's', 't']);
    while (r.calls.some((c) => c.finish !== noop)) {
      for (const c of r.calls) {
        const finish = c.finish;
        c.finish = noop;
        finish();
      }
      await tick();
    }
    await Promise.all(all);
    expect(r.calls).toHaveLength(7);
    expect(r.maxInFlight()).toBe(3);
  });

  it('runs a request larger than a transaction alone, never splitting it', async () => {
    const r = recorder();
    const q = new WriteQueue(r.apply, { maxEvents: 3, writers: 1 });
    const big = q.submit('s', batch('a', 5));
    const small = q.submit('s', batch('b', 1));
    await tick();
    r.calls[0]?.finish();
    await tick();
    r.calls[1]?.finish();
    expect((await big).length).toBe(5);
    expect((await small).length).toBe(1);
    expect(r.calls.map((c) => c.ids.length)).toEqual([5, 1]);
  });

  it('when a shared call fails, tries each request alone: only the failing one is refused', async () => {
    const calls: string[][] = [];
    const q = new WriteQueue(
      async (_space, events) => {
        calls.push(events.map((e) => e.messageId));
        await tick();
        if (events.some((e) => e.messageId === 'bad0')) throw new Error('boom');
        return events.map(() => ({ status: 'duplicate' as const }));
      },
      { maxEvents: 10, writers: 1 },
    );
    const first = q.submit('s', batch('x', 1));
    const rest = [
      q.submit('s', batch('ok', 2)),
      q.submit('s', batch('bad', 1)),
      q.submit('s', batch('fine', 1)),
    ];
    await first;
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(calls).toEqual([['x0'], ['ok0', 'ok1', 'bad0', 'fine0'], ['ok0', 'ok1'], ['bad0'], ['fine0']]);
  });

  it('reports what waits and what runs, and each transaction’s size as it starts (metrics)', async () => {
    const r = recorder();
    const sizes: [number, number][] = [];
    const q = new WriteQueue(r.apply, {
      maxEvents: 10,
      writers: 1,
      onTransaction: (events, requests) => sizes.push([events, requests]),
    });
    expect(q.stats()).toEqual({ waitingRequests: 0, waitingEvents: 0, running: 0 });
    const all = [
      q.submit('s', batch('a', 3)),
      q.submit('s', batch('b', 4)),
      q.submit('s', batch('c', 5)),
      q.submit('t', batch('d', 2)),
    ];
    await tick();
    // s runs a and waits with b and c; t runs d.
    expect(q.stats()).toEqual({ waitingRequests: 2, waitingEvents: 9, running: 2 });
    expect(sizes).toEqual([
      [3, 1],
      [2, 1],
    ]);
    r.calls[0]?.finish();
    r.calls[1]?.finish();
    await tick();
    expect(q.stats()).toEqual({ waitingRequests: 0, waitingEvents: 0, running: 1 });
    expect(sizes.at(-1)).toEqual([9, 2]);
    r.calls[2]?.finish();
    await Promise.all(all);
    expect(q.stats()).toEqual({ waitingRequests: 0, waitingEvents: 0, running: 0 });
  });

  it('when the database is unreachable, refuses the shared call and the requests waiting, at once', async () => {
    // Issue 11 §3 / ADR 0017: trying each request alone during an outage made each wait again.
    const r = recorder();
    const q = new WriteQueue(r.apply, { maxEvents: 3, writers: 1 });
    const first = q.submit('s', batch('a', 1));
    await tick();
    const rest = [q.submit('s', batch('b', 2)), q.submit('s', batch('c', 1)), q.submit('s', batch('d', 2))];
    r.calls[0]?.finish();
    await first;
    await tick();
    // b and c share the next call; d waits behind it.
    const outage = new ServiceUnavailableError(5);
    r.calls[1]?.finish(outage);
    const settled = await Promise.allSettled(rest);
    expect(settled).toEqual(Array.from({ length: 3 }, () => ({ status: 'rejected', reason: outage })));
    expect(r.calls.map((c) => c.ids)).toEqual([['a0'], ['b0', 'b1', 'c0']]);
    // The queue keeps working once the database is back.
    const after = q.submit('s', batch('e', 1));
    await tick();
    r.calls[2]?.finish();
    expect(profileIds(await after)).toEqual(['e0']);
  });

  it('when a shared call loses its lock conflicts (busy), tries each request alone as for any failure', async () => {
    const r = recorder();
    const q = new WriteQueue(r.apply, { maxEvents: 3, writers: 1 });
    const first = q.submit('s', batch('a', 1));
    await tick();
    const rest = [q.submit('s', batch('b', 2)), q.submit('s', batch('c', 1))];
    r.calls[0]?.finish();
    await first;
    await tick();
    r.calls[1]?.finish(new ServiceUnavailableError(1, undefined, 'busy'));
    await tick();
    expect(r.calls.map((c) => c.ids)).toEqual([['a0'], ['b0', 'b1', 'c0'], ['b0', 'b1']]);
    r.calls[2]?.finish();
    await tick();
    r.calls[3]?.finish();
    expect((await Promise.all(rest)).map(profileIds)).toEqual([['b0', 'b1'], ['c0']]);
  });

  it('answers an empty request without a call', async () => {
    const r = recorder();
    const q = new WriteQueue(r.apply, { maxEvents: 10, writers: 1 });
    expect(await q.submit('s', [])).toEqual([]);
    expect(r.calls).toHaveLength(0);
  });
});

function noop(): void {}
