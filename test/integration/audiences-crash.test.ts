// Issue 14, "Nothing lost": after kill -9 under load and a restart, memberships match the oracle. Built as
// computed-crash.test.ts: the service runs in a child process (test/support/crash-service.ts, its worker
// passing every 20 ms over a few subjects per transaction) while four senders post batches over HTTP:
// anonymous and identified events, identifies that link them (merges) and carry a plan, group calls that
// put people in accounts (some with a tier), and resent duplicates. The child dies by SIGKILL at seeded
// moments inside the worker's transactions: recomputing (after write-values, before and after the commit),
// marking (after mark-dirty, both ways) and projecting memberships into the graph (after
// take-projection, before the Neo4j write; after the Neo4j write and finish-projection, before the
// commit); then twice once the load is acknowledged, while it projects what the log's last stretch changed
// and while it marks that stretch. Each time it is restarted on the same databases and the senders
// resend what was not acknowledged. An audience defined after the first restart has its backfill (in this
// process) race the restarted worker. Once everything drained (docs/adr/0022-audiences.md): (a) every
// profile's and account's memberships equal evaluateSubject over what the read API and the graph hold, as
// of the same clock; (b) each (subject, audience) change record is a chain of entries and exits ending at
// the membership; (c) the graph's IN_AUDIENCE edges are exactly the memberships, and nothing is left to
// project, mark or read from the change log.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { evaluateSubject, evaluationOrder, type Computation } from '../../src/computed/evaluate-subject.ts';
import type { TraitLevel } from '../../src/computed/index.ts';
import { parseAudience, parseComputedTrait } from '../../src/language/index.ts';
import type { Database } from '../../src/postgres/database.ts';
import { createServices, type Services } from '../../src/services.ts';
import { startCrashChild, type CrashChild } from '../support/crash-child.ts';
import { runKilledLoad, sleep } from '../support/killed-load.ts';
import { openTestGraph, uniqueSpace, type TestGraph } from '../support/graph.ts';
import { accountInput, profileInput } from '../support/oracle.ts';
import { openPrivateDatabase, storedCounts } from '../support/postgres.ts';
import { prng } from '../support/prng.ts';

const SEED = 20261414;
const PEOPLE = 48;
/** People active at any moment: each comes, sends for a while and leaves, as on a site. */
const ACTIVE = 8;
const EVENTS = 800;
const SENDERS = 4;
const ACCOUNTS = 16;
const HOUR = 3_600_000;

interface Definition {
  kind: 'computed_trait' | 'audience';
  level: TraitLevel;
  text: string;
  includeAnonymous?: boolean;
}

const DEFINITIONS: Record<string, Definition> = {
  spend: { kind: 'computed_trait', level: 'USERS', text: "event('Order Completed').sum(property('total'))" },
  // An event count, without anonymous profiles.
  buyers: { kind: 'audience', level: 'USERS', text: "event('Order Completed').count() >= 2" },
  // A window, with anonymous profiles.
  recent_buyers: {
    kind: 'audience',
    level: 'USERS',
    text: "event('Order Completed').within(7 days).count() >= 1",
    includeAnonymous: true,
  },
  // A custom trait, set by identifies.
  pro: { kind: 'audience', level: 'USERS', text: "trait('plan') = 'pro'" },
  // Audiences of audiences.
  pro_buyers: { kind: 'audience', level: 'USERS', text: "trait('pro') = true AND trait('buyers') = true" },
  readers: {
    kind: 'audience',
    level: 'USERS',
    text: "event('Page Viewed').count() >= 2 AND NOT (trait('buyers') = true)",
    includeAnonymous: true,
  },
  // A computed trait.
  big_spenders: { kind: 'audience', level: 'USERS', text: "trait('spend') >= 300", includeAnonymous: true },
  // ANY over the users' audiences and events, or the account's own trait (a group call's).
  active_pro_accounts: {
    kind: 'audience',
    level: 'ACCOUNTS',
    text: "ANY(trait('pro_buyers') = true AND event('Order Completed').within(7 days).count() >= 2) OR trait('tier') = 'gold'",
  },
};
// Defined after the first restart, while the load runs. A buyer with a recent order is out, and kept as
// `false` with the instant its orders age out (ADR 0022, "Ageing").
const LATER: Record<string, Definition> = {
  lapsed: {
    kind: 'audience',
    level: 'USERS',
    text: "event('Order Completed').count() >= 1 AND event('Order Completed').within(7 days).count() = 0",
    includeAnonymous: true,
  },
};
const AUDIENCE_KEYS = new Set(
  Object.entries({ ...DEFINITIONS, ...LATER })
    .filter(([, d]) => d.kind === 'audience')
    .map(([key]) => key),
);

function computation(key: string, d: Definition): Computation {
  if (d.kind === 'computed_trait') {
    const parsed = parseComputedTrait(d.text);
    if (!parsed.ok) throw new Error(`${key}: ${parsed.error.message}`);
    return { kind: 'computed_trait', key, level: d.level, definition: parsed.definition };
  }
  const parsed = parseAudience(d.text);
  if (!parsed.ok) throw new Error(`${key}: ${parsed.error.message}`);
  return {
    kind: 'audience',
    key,
    level: d.level,
    definition: parsed.definition,
    includeAnonymous: d.includeAnonymous ?? false,
  };
}

/** A level's definitions in evaluation order, as the worker evaluates them. */
function ordered(level: TraitLevel): Computation[] {
  const list = Object.entries({ ...DEFINITIONS, ...LATER })
    .filter(([, d]) => d.level === level)
    .map(([key, d]) => computation(key, d));
  const order = evaluationOrder(list);
  if ('cycle' in order) throw new Error(`cycle ${order.cycle.join(' ')}`);
  return order.order;
}

// The child's worker: a pass every 20 ms, 3 subjects per transaction, so that it commits often under load.
const CHILD_ENV = { COMPUTED_TICK_MS: '20', COMPUTED_CHUNK: '3' };

type Message = Record<string, unknown> & {
  type: 'track' | 'page' | 'identify' | 'group';
  messageId: string;
};

interface Plan {
  /** Batches per sender, sent in order. */
  queues: Message[][][];
  batches: number;
  /** Distinct messages (a duplicate is the same object sent again). */
  distinct: Map<string, Message>;
  /** Profiles the load ends with: one per person who identified, else one per id the person sent with. */
  profiles: number;
  /** Group ids named by a group call. */
  accounts: Set<string>;
}

/**
 * The load, from the seed: people come and go (ACTIVE at a time). Before identifying, a person sends
 * mostly as an anonymous visitor and sometimes as the user (another device), so that the identify linking
 * the two merges two profiles; afterwards as the user, the visitor or both. Identifies carry a plan (pro
 * or free) half the time, group calls put whoever sends them in one of ACCOUNTS accounts, with a tier a
 * fifth of the time; a tenth of the messages resend a recent one. Event times avoid a day either side of
 * the 7-day window's edge, so the real clock cannot move an event across it while the test runs.
 */
function plan(space: string, rand: () => number, now: number): Plan {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const linked = new Array<boolean>(PEOPLE).fill(false);
  /** The ids each person sent with. */
  const ids = new Map<number, Set<string>>();
  const accounts = new Set<string>();
  const sent: Message[] = [];
  const at = () => {
    const hours = rand() < 0.5 ? rand() * 144 : 192 + rand() * 288;
    return new Date(now - Math.floor(hours * HOUR)).toISOString();
  };
  for (let i = 0; i < EVENTS; i++) {
    const p = Math.floor((i * (PEOPLE - ACTIVE)) / EVENTS) + Math.floor(rand() * ACTIVE);
    const used = ids.get(p) ?? new Set<string>();
    ids.set(p, used);
    const userId = `${space}-u${p}`;
    const anonymousId = `${space}-a${p}`;
    const who = linked[p]
      ? pick([{ userId }, { anonymousId }, { userId, anonymousId }])
      : pick([{ anonymousId }, { anonymousId }, { anonymousId }, { userId }]);
    const messageId = `${space}-m${i}`;
    const r = rand();
    if (r < 0.36) {
      const properties = { total: 1 + Math.floor(rand() * 200) };
      sent.push({ type: 'track', ...who, event: 'Order Completed', properties, timestamp: at(), messageId });
    } else if (r < 0.54) {
      sent.push({ type: 'page', ...who, name: 'Docs', properties: {}, timestamp: at(), messageId });
    } else if (r < 0.66) {
      linked[p] = true;
      const traits = rand() < 0.5 ? { plan: pick(['free', 'pro']) } : undefined;
      sent.push({ type: 'identify', userId, anonymousId, ...(traits ? { traits } : {}), messageId });
    } else if (r < 0.72) {
      const groupId = `g${Math.floor(rand() * ACCOUNTS)}`;
      accounts.add(groupId);
      const traits = rand() < 0.2 ? { tier: pick(['gold', 'silver', 'bronze']) } : undefined;
      sent.push({ type: 'group', ...who, groupId, ...(traits ? { traits } : {}), messageId });
    } else if (r < 0.82 && sent.length > 0) {
      sent.push(pick(sent.slice(-40)));
      continue;
    } else {
      sent.push({ type: 'track', ...who, event: 'Signed In', timestamp: at(), messageId });
    }
    // A resend (above) carries its sender's ids, counted when first sent.
    const m = sent[sent.length - 1] as Message;
    for (const id of [m.userId, m.anonymousId]) if (typeof id === 'string') used.add(id);
  }
  const queues: Message[][][] = Array.from({ length: SENDERS }, () => []);
  let batches = 0;
  for (let start = 0; start < sent.length; batches++) {
    const size = 6 + Math.floor(rand() * 10);
    queues[batches % SENDERS]?.push(sent.slice(start, start + size));
    start += size;
  }
  return {
    queues,
    batches,
    distinct: new Map(sent.map((m) => [m.messageId, m])),
    profiles: [...ids].reduce((n, [p, used]) => n + (linked[p] ? 1 : used.size), 0),
    accounts,
  };
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
  // A database of this file's own: the change-log cursor, the marks and audience_projection are the
  // database's, and only this file's services may move them for the checks at the end to mean anything.
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

async function define(space: string, definitions: Record<string, Definition>): Promise<void> {
  for (const [key, d] of Object.entries(definitions)) {
    const created =
      d.kind === 'computed_trait'
        ? await services.computed.create(space, {
            key,
            definition: d.text,
            level: d.level,
            description: null,
          })
        : await services.computed.createAudience(space, {
            key,
            definition: d.text,
            level: d.level,
            includeAnonymous: d.includeAnonymous ?? false,
            description: null,
          });
    expect(created.ok, `${key}: ${created.ok ? '' : created.message}`).toBe(true);
  }
}

/**
 * Drains from this process until the worker of neither process has anything left to mark, recompute or
 * project, and every computation is live.
 */
async function settle(space: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { marked, recomputed } = await services.computed.catchUp();
    const all = [...(await services.computed.list(space)), ...(await services.computed.audiences(space))];
    const live = all.every((c) => c.status === 'LIVE');
    // A mark or projection row the child's worker holds (SKIP LOCKED) is a row until its transaction ends.
    const dirty = await count('SELECT count(*)::int AS n FROM computed_dirty');
    const projection = await count('SELECT count(*)::int AS n FROM audience_projection');
    if (live && marked === 0 && recomputed === 0 && dirty === 0 && projection === 0) return;
    await sleep(25);
  }
  throw new Error('audiences did not settle');
}

/** Each (subject, audience) change record as a chain of entries and exits: the problems found. */
async function chainProblems(space: string): Promise<{ problems: string[]; changes: number }> {
  const keys = [...AUDIENCE_KEYS];
  const inOf = (value: unknown) => (value === true ? 'in' : 'out');
  const { rows: changes } = await own.db.pool.query<{
    level: string;
    subject_id: string;
    trait_key: string;
    old_value: unknown;
    new_value: unknown;
  }>(
    `SELECT level, subject_id, trait_key, old_value, new_value FROM computed_value_changes
     WHERE space = $1 AND trait_key = ANY($2::text[]) ORDER BY id`,
    [space, keys],
  );
  const { rows: values } = await own.db.pool.query<{
    level: string;
    subject_id: string;
    trait_key: string;
    value: unknown;
  }>(
    'SELECT level, subject_id, trait_key, value FROM computed_values WHERE space = $1 AND trait_key = ANY($2::text[])',
    [space, keys],
  );
  const { rows: merged } = await own.db.pool.query<{ merged_id: string }>(
    'SELECT merged_id FROM profile_merges WHERE space = $1',
    [space],
  );
  const mergedAway = new Set(merged.map((r) => `USERS ${r.merged_id}`));
  const problems: string[] = [];
  const last = new Map<string, string>();
  for (const c of changes) {
    const id = `${c.level} ${c.subject_id} ${c.trait_key}`;
    const before = last.get(id) ?? 'out';
    const from = inOf(c.old_value);
    const to = inOf(c.new_value);
    if (from !== before)
      problems.push(`${id}: change ${json(c.old_value)} → ${json(c.new_value)}, but it was ${before}`);
    if (from === to)
      problems.push(`${id}: change ${json(c.old_value)} → ${json(c.new_value)}: no entry or exit`);
    last.set(id, to);
  }
  const stored = new Map(values.map((v) => [`${v.level} ${v.subject_id} ${v.trait_key}`, inOf(v.value)]));
  for (const [id, state] of last) {
    const subject = id.split(' ').slice(0, 2).join(' ');
    if (mergedAway.has(subject) && state !== 'out')
      problems.push(`${id}: merged away, but its last change enters`);
    if (state !== (stored.get(id) ?? 'out'))
      problems.push(`${id}: last change ${state}, membership ${stored.get(id)}`);
  }
  for (const [id, state] of stored)
    if (state === 'in' && !last.has(id)) problems.push(`${id}: a member without any entry recorded`);
  return { problems, changes: changes.length };
}

/** What the graph shows: each subject with IN_AUDIENCE edges to the space's audiences, `key@since` sorted. */
async function graphMemberships(level: TraitLevel, space: string): Promise<Map<string, string[]>> {
  // A profile's id is unique across spaces; a group id is the account's within its space.
  const match = level === 'USERS' ? '(s:Profile)' : '(s:Account {space: $space})';
  const found = await t.driver.executeQuery(
    `MATCH ${match}-[r:IN_AUDIENCE]->(a:Audience {space: $space})
     RETURN ${level === 'USERS' ? 's.id' : 's.groupId'} AS id, a.key AS key, r.since.epochMillis AS since`,
    { space },
    { database: inject('neo4j').database },
  );
  const out = new Map<string, string[]>();
  for (const r of found.records) {
    const id = String(r.get('id'));
    const list = out.get(id) ?? [];
    list.push(`${String(r.get('key'))}@${Number(r.get('since'))}`);
    out.set(id, list.sort());
  }
  return out;
}

describe('audiences under kill -9', () => {
  it('after kills under load and restarts, memberships, their records and the graph match the oracle', async () => {
    const rand = prng(SEED);
    const space = uniqueSpace('audiences-crash');
    await services.spaces.createSpace(space);
    const writeKey = (await services.spaces.createKey(space, 'write')).secret;
    await define(space, DEFINITIONS);
    const load = plan(space, rand, Date.now());
    // Each kill: once a seeded share of the batches is acknowledged and a seeded delay has passed, the
    // child is armed (SIGUSR2) and kills itself at the worker's next transaction that runs the statement:
    // right after it (before the commit) or right after the commit. take-projection counts only when it
    // took subjects (KILL_WITH_ROWS): the child then dies before writing them to the graph;
    // finish-projection runs after the graph write, so dying after it leaves the graph ahead of
    // PostgreSQL's audience_projection. The last two once every batch is acknowledged: no later event can
    // repair a mark or a projection lost there.
    const kills = [
      { share: 0.08 + 0.05 * rand(), after: 'computed/write-values', commit: false, tail: false },
      { share: 0.2 + 0.05 * rand(), after: 'computed/take-projection', commit: false, tail: false },
      { share: 0.32 + 0.05 * rand(), after: 'computed/write-values', commit: true, tail: false },
      { share: 0.44 + 0.05 * rand(), after: 'computed/finish-projection', commit: false, tail: false },
      { share: 0.56 + 0.05 * rand(), after: 'computed/mark-dirty', commit: false, tail: false },
      { share: 0.68 + 0.05 * rand(), after: 'computed/mark-dirty', commit: true, tail: false },
      { share: 1, after: 'computed/finish-projection', commit: false, tail: true },
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
        const child = await startCrashChild({
          ...CHILD_ENV,
          DATABASE_URL: own.url,
          ...(kill === undefined
            ? {}
            : {
                KILL_AFTER_SQL: kill.after,
                KILL_AFTER_COMMIT: kill.commit ? '1' : '0',
                KILL_WITH_ROWS: kill.after === 'computed/take-projection' ? '1' : '0',
              }),
        });
        children.push(child);
        return child;
      },
      // What a kill left: batches half committed, marks not recomputed yet, memberships not shown in the
      // graph yet, and the changes recorded so far.
      afterKill: async () => ({
        pendingBatches: await count('SELECT count(*)::int AS n FROM pending_batches'),
        dirty: await count('SELECT count(*)::int AS n FROM computed_dirty'),
        projection: await count('SELECT count(*)::int AS n FROM audience_projection'),
        changes: await count('SELECT count(*)::int AS n FROM computed_value_changes'),
      }),
      // After the first restart, an audience defined while the worker runs: its backfill races it.
      onRestarted: async (k) => {
        if (k === 0) await define(space, LATER);
      },
    });
    const loaded = Date.now();
    await settle(space);
    const settled = Date.now();
    console.log(
      `audiences under kill -9: kills at ${JSON.stringify(atKills)}; load ${loaded - started} ms, drain ${settled - loaded} ms`,
    );

    // Each kill hit the load mid-stream: batches were left to send, and requests failed because of it.
    const underLoad = atKills.filter((a) => !a.tail);
    // On a loaded machine a kill may still land just after the last batch is acknowledged (the worker takes
    // long to reach its statement), or be armed only once the load has ended (the restart before it took
    // long): all but one must be armed and land mid-stream.
    const midStream = underLoad.filter(
      (a) => a.acked < load.batches && a.ackedAtKill < load.batches && a.failedUntilRestart > 0,
    );
    expect(midStream.length, JSON.stringify(underLoad)).toBeGreaterThanOrEqual(underLoad.length - 1);
    // The worker was recording entries under the load before the first kill (this process had not drained).
    expect(atKills[0]?.left.changes).toBeGreaterThan(0);
    // The kills in the projection left subjects due: before the graph write, and after it (the graph
    // ahead of PostgreSQL).
    expect(atKills[1]?.left.projection).toBeGreaterThan(0);
    expect(atKills[3]?.left.projection).toBeGreaterThan(0);
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

    // (a) Every live profile's and account's memberships equal the oracle's, as of the same clock.
    const { rows } = await own.db.pool.query<{ profile_id: string }>(
      'SELECT DISTINCT profile_id FROM identity_map WHERE space = $1 ORDER BY 1',
      [space],
    );
    const ids = rows.map((r) => r.profile_id);
    // A person's anonymous and user ids end on one profile once linked, whatever the order the merges
    // came in.
    expect(ids).toHaveLength(load.profiles);
    const { rows: groupRows } = await own.db.pool.query<{ group_id: string }>(
      'SELECT DISTINCT group_id FROM account_members WHERE space = $1 ORDER BY 1',
      [space],
    );
    const groups = groupRows.map((r) => r.group_id);
    expect(groups).toEqual([...load.accounts].sort());
    const users = ordered('USERS');
    const accountLevel = ordered('ACCOUNTS');
    const source = { space, profiles: services.profiles };
    const now = new Date();
    const keysOf = (list: { key: string }[] | undefined) => (list ?? []).map((m) => m.key).sort();
    const expectedKeys = (values: Map<string, unknown>) =>
      [...values]
        .filter(([key, value]) => AUDIENCE_KEYS.has(key) && value === true)
        .map(([key]) => key)
        .sort();
    const profileMembers = await services.computed.memberships(space, ids);
    let memberships = 0;
    for (const id of ids) {
      const expected = evaluateSubject(users, await profileInput(source, id), now);
      expect(keysOf(profileMembers.get(id)), `profile ${id}`).toEqual(expectedKeys(expected.values));
      memberships += profileMembers.get(id)?.length ?? 0;
    }
    const accountMembers = await services.computed.memberships(space, groups, 'ACCOUNTS');
    for (const g of groups) {
      const expected = evaluateSubject(accountLevel, await accountInput(source, g), now, users);
      expect(keysOf(accountMembers.get(g)), `account ${g}`).toEqual(expectedKeys(expected.values));
      memberships += accountMembers.get(g)?.length ?? 0;
    }
    // Every audience has members and non-members, so that no check above passes vacuously.
    const sizes = await services.computed.audienceSizes(space, [...AUDIENCE_KEYS]);
    for (const key of AUDIENCE_KEYS) {
      const level = { ...DEFINITIONS, ...LATER }[key]?.level;
      const all = `${key} of ${JSON.stringify(Object.fromEntries(sizes))}`;
      expect(sizes.get(key) ?? 0, all).toBeGreaterThan(0);
      expect(sizes.get(key) ?? 0, all).toBeLessThan(level === 'USERS' ? ids.length : groups.length);
    }

    // (b) Each (subject, audience) record is a chain of entries and exits ending at the membership.
    const chains = await chainProblems(space);
    expect(chains.problems).toEqual([]);

    // (c) The graph shows exactly the memberships, with their since, and nothing else (a profile merged
    // away shows none); nothing is left to project, to mark, or to read from the change log.
    const shown = (members: Map<string, { key: string; since: Date }[]>) =>
      new Map(
        [...members]
          .filter(([, list]) => list.length > 0)
          .map(([id, list]) => [id, list.map((m) => `${m.key}@${m.since.getTime()}`).sort()]),
      );
    expect(await graphMemberships('USERS', space)).toEqual(shown(profileMembers));
    expect(await graphMemberships('ACCOUNTS', space)).toEqual(shown(accountMembers));
    expect(await count('SELECT count(*)::int AS n FROM audience_projection')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM computed_dirty')).toBe(0);
    const { rows: ends } = await own.db.pool.query<{ cursor: string; last: string }>(
      `SELECT (SELECT txid::text || '/' || position FROM consumer_cursors WHERE consumer = 'computed_traits') AS cursor,
              (SELECT txid::text || '/' || position FROM changes ORDER BY txid DESC, position DESC LIMIT 1) AS last`,
    );
    expect(ends[0]?.cursor).toBe(ends[0]?.last);

    console.log(
      `audiences under kill -9: ${load.batches} batches (${load.distinct.size} distinct messages) from ${SENDERS} senders; ${failed} requests failed and were resent; ${ids.length} profiles (${merges} merged away), ${
        groups.length
      } accounts, ${memberships} memberships, ${chains.changes} entries and exits; load ${(
        (loaded - started) /
        1000
      ).toFixed(
        1,
      )} s, drain ${((settled - loaded) / 1000).toFixed(1)} s, checks ${((Date.now() - settled) / 1000).toFixed(1)} s`,
    );
    target.child.kill('SIGTERM');
    await target.exited;
  }, 240_000);
});
