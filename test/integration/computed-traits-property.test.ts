// The oracle property of computed traits (SEMANTICS.md §9, docs/adr/0021-computed-traits.md): after random
// events in random order, merges, resent duplicates, clock advances, worker restarts and a trait defined
// midway (its backfill racing the worker), once pending updates drain every stored value equals the value
// computed from scratch (src/language's computeTrait) over the profile's events as the read API returns
// them, as of the same clock; an account's over the events of the members the graph holds, whenever they
// joined. Seeded and bounded; the worker runs in this file's own database, so no other file's service
// recomputes with another clock.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputedTraitsService, DEFAULT_COMPUTED_SETTINGS } from '../../src/computed/index.ts';
import type { Database } from '../../src/postgres/database.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { accountMembers, accountOracleValues, oracleValues, parseAll } from '../support/oracle.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { newStack, type Stack } from '../support/stack.ts';
import { settleComputed } from '../support/computed.ts';

const TRAITS: Record<string, string> = {
  orders: "event('Order Completed').count()",
  orders_2d: "event('Order Completed').within(2 days).count()",
  big_12h: "event('Order Completed').where(property('total') >= 50).within(12 hours).count()",
  revenue: "event('Order Completed').sum(property('total'))",
  avg_2d: "event('Order Completed').within(2 days).avg(property('total'))",
  cheapest: "event('Order Completed').min(property('total'))",
  first_sku: "event('Order Completed').first(property('sku'))",
  last_sku_2d: "event('Order Completed').within(2 days).last(property('sku'))",
  skus: "event('Order Completed').unique(property('sku'))",
  sku_count: "event('Order Completed').unique(property('sku')).count()",
  top_path: "event('Page Viewed').mode(property('path'), 2)",
  // Changes with the clock alone, from 0 too: an invoice due within a day (language/timers.ts).
  due_soon: "event('Invoice Sent').where(property('due').within_next(1 days)).count()",
};
/** Account-level traits (§9): the members' events, from before they joined too. */
const ACCOUNT_TRAITS: Record<string, string> = {
  acct_orders: "event('Order Completed').count()",
  acct_revenue_2d: "event('Order Completed').within(2 days).sum(property('total'))",
  acct_skus: "event('Order Completed').unique(property('sku'))",
  acct_last_sku: "event('Order Completed').last(property('sku'))",
};
const PARSED = parseAll(TRAITS);
const ACCOUNT_PARSED = parseAll(ACCOUNT_TRAITS);
const LATER = new Set(['sku_count', 'last_sku_2d', 'avg_2d', 'acct_last_sku']);

type Who = { userId: string } | { anonymousId: string } | { userId: string; anonymousId: string };
type Command =
  | { kind: 'order'; who: Who; ageHours: number; total: number; sku: string }
  | { kind: 'invoice'; who: Who; dueHours: number }
  | { kind: 'page'; who: Who; ageHours: number; path: string }
  | { kind: 'identify'; person: number; drainFirst: boolean }
  | { kind: 'group'; who: Who; account: string }
  | { kind: 'resend'; index: number }
  | { kind: 'advance'; hours: number }
  | { kind: 'drain' }
  | { kind: 'restart' }
  | { kind: 'define-later' };

// Three people, each with a user id and an anonymous id of their own: an identify joins a person's two
// profiles (a merge when both exist), never two people's.
const person = fc.integer({ min: 1, max: 3 });
const user = person.map((p) => `u${p}`);
const anon = person.map((p) => `a${p}`);
// Mostly anonymous visitors, so that identifies and calls carrying both ids merge their profiles often.
const who: fc.Arbitrary<Who> = fc.oneof(
  { weight: 1, arbitrary: user.map((userId) => ({ userId })) },
  { weight: 3, arbitrary: anon.map((anonymousId) => ({ anonymousId })) },
  { weight: 1, arbitrary: person.map((p) => ({ userId: `u${p}`, anonymousId: `a${p}` })) },
);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      who,
      ageHours: fc.integer({ min: 0, max: 96 }),
      total: fc.integer({ min: -20, max: 200 }),
      sku: fc.constantFrom('s1', 's2', 's3', 's4'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('page' as const),
      who,
      ageHours: fc.integer({ min: 0, max: 96 }),
      path: fc.constantFrom('/a', '/b', '/c'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('identify' as const),
      person,
      // Values already kept for both profiles when they merge.
      drainFirst: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('invoice' as const),
      who,
      dueHours: fc.integer({ min: -12, max: 60 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('group' as const), who, account: fc.constantFrom('g1', 'g2') }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resend' as const), index: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 30 }) }),
  },
  { weight: 4, arbitrary: fc.constant({ kind: 'drain' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'define-later' as const }) },
);

let t: TestGraph;
let own: { db: Database; drop: () => Promise<void> };
let now = new Date('2026-05-01T00:00:00Z');
const clock = () => new Date(now.getTime());
const settings = { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0, chunk: 7 };
let computed: ComputedTraitsService;

beforeAll(async () => {
  const shared = await openTestGraph();
  own = await openPrivateDatabase();
  t = { ...shared, db: own.db, close: shared.close };
  computed = new ComputedTraitsService(own.db, settings, clock);
});
afterAll(async () => {
  await computed.stop();
  await own.drop();
  await t.close();
});

async function defineAll(s: Stack, keys: (key: string) => boolean): Promise<void> {
  const all = [
    ...Object.entries(TRAITS).map(([key, definition]) => ({ key, definition, level: 'USERS' as const })),
    ...Object.entries(ACCOUNT_TRAITS).map(([key, definition]) => ({
      key,
      definition,
      level: 'ACCOUNTS' as const,
    })),
  ];
  for (const { key, definition, level } of all) {
    if (!keys(key)) continue;
    const created = await computed.create(s.space, { key, definition, level, description: null });
    if (!created.ok) throw new Error(`${key}: ${created.message}`);
  }
}

function oracle(s: Stack, profileId: string, keys: Set<string>): Promise<Record<string, unknown>> {
  return oracleValues(
    s,
    profileId,
    PARSED.filter((p) => keys.has(p.key)),
    clock(),
  );
}

describe('computed traits: maintained values equal the oracle', () => {
  it('after random events, orders, merges, duplicates, clock advances and restarts', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 36, size: 'max' }), async (commands) => {
        run += 1;
        now = new Date(Date.UTC(2026, 4, 1 + run));
        const s = await newStack(t, { clock });
        const defined = new Set(
          [...Object.keys(TRAITS), ...Object.keys(ACCOUNT_TRAITS)].filter((k) => !LATER.has(k)),
        );
        await defineAll(s, (k) => defined.has(k));
        const sent: { type: 'track' | 'page' | 'identify' | 'group'; input: Record<string, unknown> }[] = [];
        const accounts = new Set<string>();
        let later = false;
        for (const [i, c] of commands.entries()) {
          const at = (ageHours: number) => new Date(now.getTime() - ageHours * 3_600_000).toISOString();
          switch (c.kind) {
            case 'order':
              sent.push({
                type: 'track',
                input: {
                  ...c.who,
                  event: 'Order Completed',
                  properties: { total: c.total, sku: c.sku },
                  timestamp: at(c.ageHours),
                  messageId: `m${i}`,
                },
              });
              break;
            case 'invoice':
              sent.push({
                type: 'track',
                input: {
                  ...c.who,
                  event: 'Invoice Sent',
                  properties: { due: at(-c.dueHours) },
                  timestamp: at(0),
                  messageId: `m${i}`,
                },
              });
              break;
            case 'page':
              sent.push({
                type: 'page',
                input: {
                  ...c.who,
                  properties: { path: c.path },
                  timestamp: at(c.ageHours),
                  messageId: `m${i}`,
                },
              });
              break;
            case 'identify':
              if (c.drainFirst) await computed.drain();
              sent.push({
                type: 'identify',
                input: {
                  userId: `u${c.person}`,
                  anonymousId: `a${c.person}`,
                  timestamp: at(0),
                  messageId: `m${i}`,
                },
              });
              break;
            case 'group':
              accounts.add(c.account);
              sent.push({
                type: 'group',
                input: { ...c.who, groupId: c.account, timestamp: at(0), messageId: `m${i}` },
              });
              break;
            case 'resend': {
              const earlier = sent[c.index % Math.max(1, sent.length)];
              if (earlier !== undefined) await s.send(earlier.type, earlier.input);
              continue;
            }
            case 'advance':
              now = new Date(now.getTime() + c.hours * 3_600_000);
              continue;
            case 'drain':
              await computed.drain();
              continue;
            case 'restart':
              await computed.stop();
              computed = new ComputedTraitsService(own.db, settings, clock);
              continue;
            case 'define-later':
              if (!later) {
                later = true;
                for (const k of LATER) defined.add(k);
                await defineAll(s, (k) => LATER.has(k));
              }
              continue;
          }
          const last = sent[sent.length - 1];
          if (last !== undefined) {
            const outcome = await s.send(last.type, last.input);
            expect(outcome.ok).toBe(true);
          }
        }
        await settleComputed(computed, s.space);

        const { rows } = await own.db.pool.query<{ profile_id: string }>(
          'SELECT DISTINCT profile_id FROM identity_map WHERE space = $1 ORDER BY 1',
          [s.space],
        );
        const ids = rows.map((r) => r.profile_id);
        const values = await computed.values(s.space, ids);
        for (const id of ids) {
          const kept = Object.fromEntries((values.get(id) ?? []).map((v) => [v.key, v.value]));
          expect(kept, `profile ${id} of ${s.space}`).toEqual(await oracle(s, id, defined));
        }
        // Nothing is kept for profiles merged away.
        const { rows: stale } = await own.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM computed_values v
           JOIN profile_merges pm ON pm.space = v.space AND pm.merged_id = v.subject_id WHERE v.space = $1`,
          [s.space],
        );
        expect(stale[0]?.n).toBe(0);

        // Accounts: the event store's memberships are the graph's, and every account-level value is the
        // oracle's over the members' events.
        const groups = [...accounts].sort();
        const accountValues = await computed.values(s.space, groups, 'ACCOUNTS');
        for (const g of groups) {
          const { rows: members } = await own.db.pool.query<{ profile_id: string }>(
            'SELECT profile_id FROM account_members WHERE space = $1 AND group_id = $2 ORDER BY 1',
            [s.space, g],
          );
          expect(members.map((m) => m.profile_id).sort(), `members of ${g}`).toEqual(
            (await accountMembers(s, g)).sort(),
          );
          const kept = Object.fromEntries((accountValues.get(g) ?? []).map((v) => [v.key, v.value]));
          expect(kept, `account ${g} of ${s.space}`).toEqual(
            await accountOracleValues(
              s,
              g,
              ACCOUNT_PARSED.filter((p) => defined.has(p.key)),
              clock(),
            ),
          );
        }
      }),
      { seed: 20261130, numRuns: 15, endOnFailure: true },
    );
  }, 600_000);
});
