// Issue 14, "Nothing lost", for destinations: the service runs in a child process
// (test/support/crash-service.ts) while four senders post batches over HTTP (identifies that move people
// in and out of an audience, orders that move a computed trait and a second audience), and two webhook
// destinations deliver to a local receiver that verifies every signature with `standardwebhooks` and
// refuses a fifth of the calls' first attempts. The child dies by SIGKILL at seeded moments: while turning
// changes into deliveries (after fill-outbox, before and after its commit), after taking deliveries
// (leased, not sent), after a request the receiver accepted but before its outcome was recorded, and in
// the computed worker; once more after the load. The second destination is connected during the load, so
// its initial sync races the writers. Each time a new child starts on the same databases. Once drained
// (docs/adr/0023-webhook-destinations.md): the deliveries are exactly the expected ones — computed here,
// independently of the worker's SQL, from the change record and each key's sync snapshot — every one was
// accepted by the receiver (0 missing; duplicates are only redeliveries of the same messageId, counted),
// each profile's calls arrived in order, and the receiver's last word per profile equals the state now.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/postgres/database.ts';
import { createServices, type Services } from '../../src/services.ts';
import { startCrashChild, type CrashChild } from '../support/crash-child.ts';
import { runKilledLoad, sleep } from '../support/killed-load.ts';
import { openTestGraph, uniqueSpace, type TestGraph } from '../support/graph.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { prng } from '../support/prng.ts';
import { startReceiver, type Receiver } from '../support/webhook-receiver.ts';

const SEED = 20261423;
const PEOPLE = 24;
const EVENTS = 500;
const SENDERS = 4;
const KEY = randomBytes(32);

const CHILD_ENV = {
  COMPUTED_TICK_MS: '20',
  COMPUTED_CHUNK: '3',
  DESTINATION_SECRET_KEY: KEY.toString('base64'),
  DESTINATIONS_ALLOW_PRIVATE_URLS: 'true',
  DESTINATION_RETRY_BASE_MS: '50',
  DESTINATION_RETRY_MAX_MS: '400',
  DESTINATION_MAX_ATTEMPTS: '1000',
  DESTINATION_TIMEOUT_MS: '1000',
};

type Message = Record<string, unknown> & { type: 'track' | 'identify'; messageId: string };

function plan(space: string, rand: () => number): { queues: Message[][][]; batches: number } {
  const sent: Message[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const userId = `${space}-u${Math.floor(rand() * PEOPLE)}`;
    const messageId = `${space}-m${i}`;
    const r = rand();
    if (r < 0.35)
      sent.push({ type: 'identify', userId, traits: { plan: rand() < 0.5 ? 'pro' : 'free' }, messageId });
    else if (r < 0.75)
      sent.push({
        type: 'track',
        userId,
        event: 'Order Completed',
        properties: { total: 1 + Math.floor(rand() * 100) },
        messageId,
      });
    else if (r < 0.85 && sent.length > 0) sent.push(sent[Math.floor(rand() * sent.length)] as Message);
    else sent.push({ type: 'track', userId, event: 'Signed In', messageId });
  }
  const queues: Message[][][] = Array.from({ length: SENDERS }, () => []);
  let batches = 0;
  for (let start = 0; start < sent.length; batches++) {
    const size = 5 + Math.floor(rand() * 8);
    queues[batches % SENDERS]?.push(sent.slice(start, start + size));
    start += size;
  }
  return { queues, batches };
}

let t: TestGraph;
let own: { db: Database; url: string; drop: () => Promise<void> };
let services: Services;
const children: CrashChild[] = [];
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await openTestGraph();
  own = await openPrivateDatabase();
  // This process defines, connects and checks; only the children's workers send.
  services = createServices(t.graph, own.db, { destinations: { secretKey: KEY, allowPrivateUrls: true } });
});
afterAll(async () => {
  for (const c of children)
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await services.computed.stop();
  await Promise.all(receivers.map((r) => r.close()));
  await own.drop();
  await t.close();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await own.db.pool.query<{ n: number }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** A receiver that refuses the first attempt of a fifth of the calls (by their id), accepting the rest. */
async function flakyReceiver(): Promise<Receiver> {
  const r = await startReceiver();
  r.respond((call, attempt) =>
    attempt === 1 && (createHash('md5').update(call.id).digest()[0] ?? 0) % 5 === 0 ? 500 : 200,
  );
  receivers.push(r);
  return r;
}

async function connect(space: string, receiver: Receiver, name: string, modes: ('identify' | 'track')[]) {
  const created = await services.destinations.createWebhook(space, {
    name,
    url: receiver.url,
    audiences: ['pro', 'buyers'],
    computedTraits: ['spend'],
    modes,
  });
  if (!created.ok) throw new Error(`${name}: ${created.message}`);
  receiver.setSecret(created.signingSecret);
  return created.destination.id;
}

/** pg_snapshot's text form, `xmin:xmax:xip,…`, as a visibility test (as pg_visible_in_snapshot). */
function visibleIn(snapshot: string): (txid: string) => boolean {
  const [xmin, xmax, xip] = snapshot.split(':');
  const running = new Set((xip ?? '').split(',').filter((x) => x !== ''));
  return (txid) =>
    BigInt(txid) < BigInt(xmin ?? '0') || (BigInt(txid) < BigInt(xmax ?? '0') && !running.has(txid));
}

/**
 * The deliveries a destination must have made, from the record: for each key, the values its snapshot saw
 * (each (subject, key)'s changes of visible transactions replayed) as the initial sync, then every change
 * of a transaction it did not see (an audience's entries and exits; every change of a trait), per mode.
 */
async function expectedMessages(space: string, id: string): Promise<Map<string, { subject: string }>> {
  const { rows: keys } = await own.db.pool.query<{
    trait_key: string;
    computation: string;
    snapshot: string;
  }>(
    'SELECT trait_key, computation, snapshot::text AS snapshot FROM destination_keys WHERE destination_id = $1',
    [id],
  );
  const { rows: dest } = await own.db.pool.query<{ modes: string[] }>(
    'SELECT modes FROM destinations WHERE id = $1',
    [id],
  );
  const modes = dest[0]?.modes ?? [];
  const out = new Map<string, { subject: string }>();
  for (const k of keys) {
    const visible = visibleIn(k.snapshot);
    const { rows: changes } = await own.db.pool.query<{
      id: string;
      txid: string;
      subject_id: string;
      old_value: unknown;
      new_value: unknown;
    }>(
      `SELECT id::text AS id, txid::text AS txid, subject_id, old_value, new_value FROM computed_value_changes
       WHERE space = $1 AND level = 'USERS' AND trait_key = $2 ORDER BY txid, id`,
      [space, k.trait_key],
    );
    const atSync = new Map<string, unknown>();
    for (const c of changes) {
      if (visible(c.txid)) {
        atSync.set(c.subject_id, c.new_value);
        continue;
      }
      const moved = k.computation === 'computed_trait' || (c.old_value === true) !== (c.new_value === true);
      if (moved) for (const m of modes) out.set(`sg-${c.id}-${m}`, { subject: c.subject_id });
    }
    for (const [subject, value] of atSync) {
      if (k.computation === 'audience' ? value !== true : value === null) continue;
      const hash = createHash('md5').update(`${id}\n${subject}\n${k.trait_key}`).digest('hex');
      for (const m of modes) out.set(`sg-sync-${hash}-${m}`, { subject });
    }
  }
  return out;
}

describe('destinations under kill -9', () => {
  it('after kills under load and restarts, every expected call is delivered, in order per profile', async () => {
    const rand = prng(SEED);
    const space = uniqueSpace('destinations-crash');
    await services.spaces.createSpace(space);
    const writeKey = (await services.spaces.createKey(space, 'write')).secret;
    const defined = [
      await services.computed.createAudience(space, {
        key: 'pro',
        definition: "trait('plan') = 'pro'",
        level: null,
        includeAnonymous: false,
        description: null,
      }),
      await services.computed.createAudience(space, {
        key: 'buyers',
        definition: "event('Order Completed').count() >= 2",
        level: null,
        includeAnonymous: false,
        description: null,
      }),
      await services.computed.create(space, {
        key: 'spend',
        definition: "event('Order Completed').sum(property('total'))",
        level: 'USERS',
        description: null,
      }),
    ];
    expect(defined.map((d) => d.ok)).toEqual([true, true, true]);
    const first = await flakyReceiver();
    const second = await flakyReceiver();
    const firstId = await connect(space, first, 'before the load', ['identify', 'track']);
    let secondId = '';
    const load = plan(space, rand);
    const kills = [
      { share: 0.1, after: 'destinations/fill-outbox', commit: false, tail: false },
      { share: 0.25, after: 'destinations/take-deliveries', commit: true, tail: false },
      { share: 0.4, after: 'destinations/finish-delivery', commit: false, tail: false },
      { share: 0.55, after: 'computed/write-values', commit: true, tail: false },
      { share: 0.7, after: 'destinations/fill-outbox', commit: true, tail: false },
      { share: 1, after: 'destinations/finish-delivery', commit: false, tail: true },
    ].map((kill) => ({
      ...kill,
      afterBatches: Math.floor(kill.share * load.batches),
      delayMs: kill.tail ? 0 : Math.floor(rand() * 100),
    }));
    const started = Date.now();
    // What the children say while the load runs (their warnings and errors), every 20 s.
    const watch = setInterval(() => {
      const last = children.at(-1);
      console.log(
        `after ${Math.round((Date.now() - started) / 1000)} s: ${children.length} children; the last one said:\n${(last?.stderr() ?? '').split('\n').slice(-6).join('\n')}`,
      );
    }, 20_000);
    const { reports, refused, failed, target } = await runKilledLoad({
      queues: load.queues,
      writeKey,
      kills,
      // About 15 s of load: a child killed holding leased deliveries blocks their profiles until the lease
      // (2 · timeout · 4 waves + 1 s = 9 s here) runs out, and the kills after it must still land under load.
      paceMs: 1_000,
      start: async (kill) => {
        const child = await startCrashChild({
          ...CHILD_ENV,
          DATABASE_URL: own.url,
          ...(kill === undefined
            ? {}
            : {
                KILL_AFTER_SQL: kill.after,
                KILL_AFTER_COMMIT: kill.commit ? '1' : '0',
                KILL_WITH_ROWS: kill.after === 'destinations/take-deliveries' ? '1' : '0',
              }),
        });
        children.push(child);
        return child;
      },
      afterKill: async () => ({
        pending: await count(
          `SELECT count(*)::int AS n FROM destination_deliveries WHERE status = 'PENDING'`,
        ),
        leased: await count(
          `SELECT count(*)::int AS n FROM destination_deliveries WHERE status = 'PENDING' AND leased_until > now()`,
        ),
        delivered: await count(
          `SELECT count(*)::int AS n FROM destination_deliveries WHERE status = 'DELIVERED'`,
        ),
        received: first.calls.length + second.calls.length,
      }),
      // After the first restart, a destination connected while the load runs: its initial sync races it.
      onRestarted: async (k) => {
        if (k === 0) secondId = await connect(space, second, 'during the load', ['identify']);
      },
    });
    clearInterval(watch);
    const loaded = Date.now();
    console.log(
      `destinations under kill -9: load acknowledged in ${((loaded - started) / 1000).toFixed(1)} s`,
    );
    expect(refused).toEqual([]);

    // Drain: computations settled (this process helps), then the child's outbox empty and caught up.
    let settled = false;
    for (let i = 0; i < 300 && !settled; i++) {
      await services.computed.catchUp();
      const pending = await count(
        `SELECT count(*)::int AS n FROM destination_deliveries WHERE status = 'PENDING'`,
      );
      const behind = await count(
        `SELECT count(*)::int AS n FROM destinations d JOIN destination_keys k ON k.destination_id = d.id
         JOIN computed_value_changes c ON c.space = d.space AND c.trait_key = k.trait_key AND c.level = 'USERS'
         WHERE (c.txid, c.id) > (d.cursor_txid, d.cursor_id)`,
      );
      const dirty = await count('SELECT count(*)::int AS n FROM computed_dirty');
      const live = [
        ...(await services.computed.list(space)),
        ...(await services.computed.audiences(space)),
      ].every((c) => c.status === 'LIVE');
      settled = pending === 0 && behind === 0 && dirty === 0 && live;
      if (!settled) await sleep(100);
      if (i % 50 === 49)
        console.log(`draining: ${pending} pending, ${behind} changes behind, ${dirty} dirty`);
    }
    const problems = children.flatMap((c) =>
      c
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"level":"error"')),
    );
    expect(settled, `the outbox drained; the children said:\n${problems.slice(-20).join('\n')}`).toBe(true);
    expect(problems).toEqual([]);
    const drained = Date.now();
    // The load had no merges (user ids only), so no merged-away value is left out of what follows.
    expect(await count('SELECT count(*)::int AS n FROM profile_merges WHERE space = $1', [space])).toBe(0);
    // Kills landed where they were armed, under the load (all but possibly one) and after it.
    const midStream = reports.filter((r) => !r.tail && r.ackedAtKill < load.batches);
    expect(midStream.length, JSON.stringify(reports)).toBeGreaterThanOrEqual(kills.length - 2);

    const summary: string[] = [];
    for (const [name, id, receiver] of [
      ['first', firstId, first],
      ['second', secondId, second],
    ] as const) {
      const expected = await expectedMessages(space, id);
      const { rows: queued } = await own.db.pool.query<{
        id: string;
        message_id: string;
        subject_id: string;
        status: string;
      }>(
        `SELECT id::text AS id, message_id, subject_id, status FROM destination_deliveries
         WHERE destination_id = $1 ORDER BY id`,
        [id],
      );
      // The outbox holds exactly the expected deliveries, each DELIVERED.
      expect(queued.map((q) => q.message_id).sort(), `${name}: deliveries queued`).toEqual(
        [...expected.keys()].sort(),
      );
      expect(
        queued.filter((q) => q.status !== 'DELIVERED'),
        `${name}: not delivered`,
      ).toEqual([]);
      // The receiver accepted every one (0 missing); duplicates only as redeliveries of one messageId.
      const accepted = receiver.accepted();
      const acceptedIds = new Set(accepted.map((c) => c.id));
      const missing = [...expected.keys()].filter((m) => !acceptedIds.has(m));
      const unexpected = [...acceptedIds].filter((m) => !expected.has(m));
      const duplicates = accepted.length - acceptedIds.size;
      const line = `${name}: ${expected.size} expected, ${accepted.length} accepted (${duplicates} duplicates), ${receiver.calls.length - accepted.length} refused first attempts, ${missing.length} missing`;
      summary.push(line);
      expect(missing, line).toEqual([]);
      expect(unexpected, line).toEqual([]);
      expect(
        receiver.calls.filter((c) => !receiver.verified(c)).map((c) => c.id),
        `${name}: unsigned`,
      ).toEqual([]);
      // Order per profile: each profile's calls first arrived in the order they were queued.
      const position = new Map(queued.map((q) => [q.message_id, BigInt(q.id)]));
      const firstSeen = new Map<string, bigint[]>();
      const seen = new Set<string>();
      for (const c of accepted) {
        if (seen.has(c.id)) continue;
        seen.add(c.id);
        const user = String(c.body.userId);
        firstSeen.set(user, [...(firstSeen.get(user) ?? []), position.get(c.id) ?? -1n]);
      }
      for (const [user, ids] of firstSeen)
        expect(
          ids.every((v, i) => i === 0 || (ids[i - 1] as bigint) < v),
          `${name}: ${user} out of order`,
        ).toBe(true);
      // The receiver's last identify per (user, key) is the state now.
      const last = new Map<string, unknown>();
      for (const c of accepted)
        if (c.body.type === 'identify')
          for (const [key, value] of Object.entries(c.body.traits as Record<string, unknown>))
            last.set(`${String(c.body.userId)} ${key}`, value);
      const { rows: now } = await own.db.pool.query<{ user_id: string; trait_key: string; value: unknown }>(
        `SELECT substr(m.key, 9) AS user_id, v.trait_key, v.value FROM computed_values v
         JOIN identity_map m ON m.space = v.space AND m.profile_id = v.subject_id AND m.key LIKE 'user_id:%'
         WHERE v.space = $1 AND v.level = 'USERS'`,
        [space],
      );
      const state = new Map(now.map((r) => [`${r.user_id} ${r.trait_key}`, r.value]));
      for (const [id2, value] of last) {
        const key = id2.split(' ')[1] ?? '';
        const current = state.get(id2) ?? (key === 'spend' ? null : false);
        expect(value, `${name}: ${id2}`).toEqual(key === 'spend' ? current : current === true);
      }
      for (const [id2, value] of state)
        if (value === true || (id2.endsWith(' spend') && value !== null))
          expect(last.has(id2), `${name}: ${id2} never sent`).toBe(true);
    }
    console.log(
      `destinations under kill -9: ${load.batches} batches, ${failed} requests failed and were resent; kills ${JSON.stringify(
        reports.map((r) => ({ after: r.after, acked: r.ackedAtKill, left: r.left })),
      )}; ${summary.join('; ')}; load ${((loaded - started) / 1000).toFixed(1)} s, drain ${((drained - loaded) / 1000).toFixed(1)} s`,
    );
    target.child.kill('SIGTERM');
    await target.exited;
  }, 240_000);
});
