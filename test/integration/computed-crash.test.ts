// Issue 13, "Durable progress": a crash never loses an update or applies one twice. The service runs in a
// child process (test/support/crash-service.ts, its computed-traits worker passing every 20 ms over a few
// profiles per transaction) while four senders post batches over HTTP: anonymous events, identifies that
// link them to users (merges), events of identified users and resent duplicates. The child dies by SIGKILL
// at seeded moments, in or just after one of the worker's transactions: four times under load, with
// batches in flight, and once just after it, while the worker marks the log's last stretch. Each time it
// is restarted on the same databases, and the senders resend what was not acknowledged, as Segment's
// libraries do. A trait defined after the first restart has its backfill (in this process) race the
// restarted worker. Once everything drained: every stored value equals the oracle (SEMANTICS.md §9), each
// value's change record is one chain of real changes ending at the stored value, nothing is left marked,
// and the worker's cursor is at the end of the change log (docs/adr/0021-computed-traits.md, ADR 0018).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyValue } from '../../src/computed/index.ts';
import type { Database } from '../../src/postgres/database.ts';
import { createServices, type Services } from '../../src/services.ts';
import { startCrashChild, type CrashChild } from '../support/crash-child.ts';
import { runKilledLoad, sleep } from '../support/killed-load.ts';
import { openTestGraph, uniqueSpace, type TestGraph } from '../support/graph.ts';
import { oracleValues, parseAll } from '../support/oracle.ts';
import { openPrivateDatabase, storedCounts } from '../support/postgres.ts';
import { prng } from '../support/prng.ts';

const SEED = 20261213;
const PEOPLE = 48;
/** People active at any moment: each comes, sends for a while and leaves, as on a site. */
const ACTIVE = 8;
const EVENTS = 640;
const SENDERS = 4;
const HOUR = 3_600_000;

const TRAITS: Record<string, string> = {
  orders: "event('Order Completed').count()",
  revenue: "event('Order Completed').sum(property('total'))",
  orders_7d: "event('Order Completed').within(7 days).count()",
  last_sku: "event('Order Completed').last(property('sku'))",
  skus: "event('Order Completed').unique(property('sku'))",
  top_path: "event('Page Viewed').mode(property('path'), 2)",
};
// Defined after the first restart, while the load runs.
const LATER: Record<string, string> = {
  cheapest_7d: "event('Order Completed').within(7 days).min(property('total'))",
};
const PARSED = parseAll({ ...TRAITS, ...LATER });
const EMPTY = new Map(PARSED.map((p) => [p.key, emptyValue(p.definition.reducer)]));

// The child's worker: a pass every 20 ms, 3 profiles per transaction, so that it commits often under load.
const CHILD_ENV = { COMPUTED_TICK_MS: '20', COMPUTED_CHUNK: '3' };

type Message = Record<string, unknown> & { type: 'track' | 'page' | 'identify'; messageId: string };

interface Plan {
  /** Batches per sender, sent in order. */
  queues: Message[][][];
  batches: number;
  /** Distinct messages (a duplicate is the same object sent again). */
  distinct: Map<string, Message>;
  /** People who sent anything: each ends as one profile. */
  people: number;
}

/**
 * The load, from the seed: people come and go (ACTIVE at a time), so many profiles get no event after a
 * kill that could have repaired a lost update. Each person browses anonymously first, then identifies
 * (linking the anonymous id to a user id: a merge), then sends as the user, the anonymous visitor or both;
 * a tenth of the messages resend a recent one (a duplicate). Event times avoid a day either side of
 * the 7-day window's edge, so the real clock cannot move an event across it while the test runs.
 */
function plan(space: string, rand: () => number, now: number): Plan {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const linked = new Array<boolean>(PEOPLE).fill(false);
  const people = new Set<number>();
  const sent: Message[] = [];
  const at = () => {
    const hours = rand() < 0.5 ? rand() * 144 : 192 + rand() * 288;
    return new Date(now - Math.floor(hours * HOUR)).toISOString();
  };
  for (let i = 0; i < EVENTS; i++) {
    const p = Math.floor((i * (PEOPLE - ACTIVE)) / EVENTS) + Math.floor(rand() * ACTIVE);
    people.add(p);
    const userId = `${space}-u${p}`;
    const anonymousId = `${space}-a${p}`;
    const who = linked[p] ? pick([{ userId }, { anonymousId }, { userId, anonymousId }]) : { anonymousId };
    const messageId = `${space}-m${i}`;
    const r = rand();
    if (r < 0.45) {
      const properties = { total: 1 + Math.floor(rand() * 200), sku: pick(['s1', 's2', 's3', 's4', 's5']) };
      sent.push({ type: 'track', ...who, event: 'Order Completed', properties, timestamp: at(), messageId });
    } else if (r < 0.7) {
      const properties = { path: pick(['/a', '/b', '/c', '/d']) };
      sent.push({ type: 'page', ...who, name: 'Docs', properties, timestamp: at(), messageId });
    } else if (r < 0.8) {
      linked[p] = true;
      const traits = rand() < 0.5 ? { plan: pick(['free', 'pro']) } : undefined;
      sent.push({ type: 'identify', userId, anonymousId, ...(traits ? { traits } : {}), messageId });
    } else if (r < 0.9 && sent.length > 0) {
      sent.push(pick(sent.slice(-40)));
    } else {
      sent.push({ type: 'track', ...who, event: 'Signed In', timestamp: at(), messageId });
    }
  }
  const queues: Message[][][] = Array.from({ length: SENDERS }, () => []);
  let batches = 0;
  for (let start = 0; start < sent.length; batches++) {
    const size = 6 + Math.floor(rand() * 10);
    queues[batches % SENDERS]?.push(sent.slice(start, start + size));
    start += size;
  }
  return { queues, batches, distinct: new Map(sent.map((m) => [m.messageId, m])), people: people.size };
}

const json = (value: unknown) => JSON.stringify(value ?? null);

let t: TestGraph;
let own: { db: Database; url: string; drop: () => Promise<void> };
let services: Services;
const computedErrors: unknown[] = [];
/** Every child started, so that none outlives a failed test. */
const children: CrashChild[] = [];

beforeAll(async () => {
  t = await openTestGraph();
  // A database of this file's own: the change-log cursor and the dirty marks are the database's, and only
  // this file's services may move them for the checks at the end to mean anything.
  own = await openPrivateDatabase();
  services = createServices(t.graph, own.db, { onComputedError: (error) => computedErrors.push(error) });
});
afterAll(async () => {
  for (const c of children)
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await services.computed.stop();
  await own.drop();
  await t.close();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await own.db.pool.query<{ n: number }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** Drains from this process until the worker of neither process has anything left and every trait is live. */
async function settle(space: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { marked, recomputed } = await services.computed.catchUp();
    const live = (await services.computed.list(space)).every((c) => c.status === 'LIVE');
    // A mark the child's worker holds (SKIP LOCKED) is a row until its transaction commits.
    const dirty = await count('SELECT count(*)::int AS n FROM computed_dirty');
    if (live && marked === 0 && recomputed === 0 && dirty === 0) return;
    await sleep(25);
  }
  throw new Error('computed traits did not settle');
}

/** Each (subject, trait) change record as a chain: the problems found, empty when all is well. */
async function chainProblems(space: string): Promise<{ problems: string[]; changes: number }> {
  const norm = (key: string, value: unknown) => {
    const text = json(value);
    return text === json(EMPTY.get(key)) ? 'null' : text;
  };
  const { rows: changes } = await own.db.pool.query<{
    subject_id: string;
    trait_key: string;
    old_value: unknown;
    new_value: unknown;
  }>(
    'SELECT subject_id, trait_key, old_value, new_value FROM computed_value_changes WHERE space = $1 ORDER BY id',
    [space],
  );
  const { rows: values } = await own.db.pool.query<{ subject_id: string; trait_key: string; value: unknown }>(
    'SELECT subject_id, trait_key, value FROM computed_values WHERE space = $1',
    [space],
  );
  const { rows: merged } = await own.db.pool.query<{ merged_id: string }>(
    'SELECT merged_id FROM profile_merges WHERE space = $1',
    [space],
  );
  const mergedAway = new Set(merged.map((r) => r.merged_id));
  const problems: string[] = [];
  const last = new Map<string, string>();
  for (const c of changes) {
    const id = `${c.subject_id} ${c.trait_key}`;
    const before = last.get(id) ?? 'null';
    const from = norm(c.trait_key, c.old_value);
    const to = norm(c.trait_key, c.new_value);
    if (from !== before) problems.push(`${id}: change from ${from}, but the value was ${before}`);
    if (from === to) problems.push(`${id}: change from ${from} to the same value`);
    last.set(id, to);
  }
  const stored = new Map(values.map((v) => [`${v.subject_id} ${v.trait_key}`, norm(v.trait_key, v.value)]));
  for (const [id, value] of last) {
    const subject = id.split(' ')[0] ?? '';
    // A merged-away profile's values go with it (write-values.sql's `gone`), recorded as changes to empty.
    if (mergedAway.has(subject) && value !== 'null')
      problems.push(`${id}: merged away, but its last change leaves ${value}`);
    if (value !== (stored.get(id) ?? 'null'))
      problems.push(`${id}: last change to ${value}, stored ${stored.get(id)}`);
  }
  for (const [id, value] of stored)
    if (!last.has(id)) problems.push(`${id}: stored ${value} without any change recorded`);
  return { problems, changes: changes.length };
}

describe('computed traits under kill -9', () => {
  it('after kills under load and restarts, values equal the oracle and no change is applied twice', async () => {
    const rand = prng(SEED);
    const space = uniqueSpace('computed-crash');
    await services.spaces.createSpace(space);
    const writeKey = (await services.spaces.createKey(space, 'write')).secret;
    for (const [key, definition] of Object.entries(TRAITS)) {
      const created = await services.computed.create(space, {
        key,
        definition,
        level: 'USERS',
        description: null,
      });
      expect(created.ok, key).toBe(true);
    }
    const load = plan(space, rand, Date.now());
    // Each kill: once a seeded share of the batches is acknowledged and a seeded delay has passed, the
    // child is armed (SIGUSR2) and kills itself at the worker's next transaction that runs the statement:
    // right after it (before the commit) or right after the commit (before the work that follows). Under
    // load, in each of the worker's two transactions, recomputing (values, change rows and the marks'
    // removal) and marking (marks and the cursor), both ways. The last once every batch is acknowledged,
    // as the worker marks the log's last stretch: no later event can repair a mark lost there.
    const kills = [
      { share: 0.15 + 0.1 * rand(), after: 'computed/write-values', commit: false, tail: false },
      { share: 0.3 + 0.1 * rand(), after: 'computed/write-values', commit: true, tail: false },
      { share: 0.45 + 0.1 * rand(), after: 'computed/mark-dirty', commit: false, tail: false },
      { share: 0.6 + 0.1 * rand(), after: 'computed/mark-dirty', commit: true, tail: false },
      { share: 1, after: 'computed/mark-dirty', commit: false, tail: true },
    ].map((kill) => ({
      ...kill,
      afterBatches: Math.floor(kill.share * load.batches),
      delayMs: kill.tail ? 0 : Math.floor(rand() * 100),
    }));
    const started = Date.now();
    const {
      reports: atKills,
      refused,
      failed,
      target,
    } = await runKilledLoad({
      queues: load.queues,
      writeKey,
      kills,
      start: async (kill) => {
        const started = await startCrashChild({
          ...CHILD_ENV,
          DATABASE_URL: own.url,
          ...(kill === undefined
            ? {}
            : { KILL_AFTER_SQL: kill.after, KILL_AFTER_COMMIT: kill.commit ? '1' : '0' }),
        });
        children.push(started);
        return started;
      },
      // What a kill left: batches half committed (the restart's recovery or a resend finishes them),
      // marks not recomputed yet, and the changes recorded so far.
      afterKill: async () => ({
        pendingBatches: await count('SELECT count(*)::int AS n FROM pending_batches'),
        dirty: await count('SELECT count(*)::int AS n FROM computed_dirty'),
        changes: await count('SELECT count(*)::int AS n FROM computed_value_changes'),
      }),
      // After the first restart, traits defined while the worker runs: their backfill races it.
      onRestarted: async (k) => {
        if (k !== 0) return;
        for (const [key, definition] of Object.entries(LATER)) {
          const created = await services.computed.create(space, {
            key,
            definition,
            level: 'USERS',
            description: null,
          });
          expect(created.ok, key).toBe(true);
        }
      },
    });
    const loaded = Date.now();
    await settle(space);
    const settled = Date.now();

    // Each kill hit the load mid-stream: batches were left to send, and requests failed because of it.
    const underLoad = atKills.filter((a) => !a.tail);
    // On a loaded machine a kill may still land just after the last batch is acknowledged (the worker takes
    // long to reach its statement), or be armed only once the load has ended (the restart before it took
    // long): all but one must be armed and land mid-stream.
    const midStream = underLoad.filter(
      (a) => a.acked < load.batches && a.ackedAtKill < load.batches && a.failedUntilRestart > 0,
    );
    expect(midStream.length, JSON.stringify(underLoad)).toBeGreaterThanOrEqual(underLoad.length - 1);
    // The worker was writing values under the load before the first kill (this process had not drained).
    expect(atKills[0]?.left.changes).toBeGreaterThan(0);
    expect(refused).toEqual([]);
    expect(computedErrors).toEqual([]);
    const failedPasses = children.flatMap((c) =>
      c
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"level":"error"')),
    );
    expect(failedPasses).toEqual([]);

    // The load merged profiles, and every event was stored once.
    const merges = await count('SELECT count(*)::int AS n FROM profile_merges WHERE space = $1', [space]);
    expect(merges).toBeGreaterThan(0);
    const stored = await storedCounts(own.db, space);
    expect([...stored.values()].filter((n) => n !== 1)).toEqual([]);
    expect([...stored.keys()].sort()).toEqual([...load.distinct.keys()].sort());
    expect(await count('SELECT count(*)::int AS n FROM pending_batches WHERE space = $1', [space])).toBe(0);

    // (a) Every live profile's values equal the oracle's over its events, as of the same clock.
    const { rows } = await own.db.pool.query<{ profile_id: string }>(
      'SELECT DISTINCT profile_id FROM identity_map WHERE space = $1 ORDER BY 1',
      [space],
    );
    const ids = rows.map((r) => r.profile_id);
    // A person's anonymous and user ids end on one profile, whatever the order the merges came in.
    expect(ids).toHaveLength(load.people);
    const now = new Date();
    const values = await services.computed.values(space, ids);
    // Values are kept for live profiles only (a merged-away profile's go with it).
    const { rows: holders } = await own.db.pool.query<{ subject_id: string }>(
      'SELECT DISTINCT subject_id FROM computed_values WHERE space = $1',
      [space],
    );
    expect(holders.map((h) => h.subject_id).filter((id) => !ids.includes(id))).toEqual([]);
    const kept = new Map(
      ids.map((id) => [id, Object.fromEntries((values.get(id) ?? []).map((v) => [v.key, v.value]))]),
    );
    for (const id of ids)
      expect(kept.get(id), `profile ${id}`).toEqual(
        await oracleValues({ space, profiles: services.profiles }, id, PARSED, now),
      );
    // And, independently of the oracle, every order counted once across the profiles.
    const orders = [...load.distinct.values()].filter((m) => m.event === 'Order Completed');
    const sum = (key: string) => [...kept.values()].reduce((n, v) => n + Number(v[key] ?? 0), 0);
    expect(sum('orders')).toBe(orders.length);
    expect(sum('revenue')).toBe(
      orders.reduce((n, m) => n + Number((m.properties as { total: number }).total), 0),
    );

    // (b) Each value's changes are one chain ending at the stored value, with no change to the same value.
    const chains = await chainProblems(space);
    expect(chains.problems).toEqual([]);
    // (c) Nothing left marked; (d) the cursor at the change log's last row.
    expect(await count('SELECT count(*)::int AS n FROM computed_dirty')).toBe(0);
    const { rows: ends } = await own.db.pool.query<{ cursor: string; last: string }>(
      `SELECT (SELECT txid::text || '/' || position FROM consumer_cursors WHERE consumer = 'computed_traits') AS cursor,
              (SELECT txid::text || '/' || position FROM changes ORDER BY txid DESC, position DESC LIMIT 1) AS last`,
    );
    expect(ends[0]?.cursor).toBe(ends[0]?.last);

    console.log(
      `computed traits under kill -9: ${load.batches} batches (${load.distinct.size} distinct events, ${
        orders.length
      } orders) from ${SENDERS} senders; kills at ${JSON.stringify(atKills)}; ${failed} requests failed and were resent; ${
        ids.length
      } profiles (${merges} merged away), ${chains.changes} value changes; load ${((loaded - started) / 1000).toFixed(1)} s, drain ${(
        (settled - loaded) /
        1000
      ).toFixed(1)} s`,
    );
    target.child.kill('SIGTERM');
    await target.exited;
  }, 120_000);
});
