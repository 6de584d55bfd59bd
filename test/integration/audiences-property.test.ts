// The oracle property of audiences (SEMANTICS.md §10, docs/adr/0022-audiences.md): after random events in
// random order, identifies with traits (a plan, a trial's end date), group calls with account traits,
// merges, resent duplicates, clock advances, worker restarts, an audience defined midway, definitions
// changed midway and an audience others refer to changed or deleted midway, once pending updates drain every profile's and account's membership (and computed value)
// equals evaluating every definition from scratch over what the read API and the graph hold, as of the
// same clock. Seeded and bounded; the worker runs in this file's own database.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputedTraitsService, DEFAULT_COMPUTED_SETTINGS } from '../../src/computed/index.ts';
import { evaluateSubject, evaluationOrder, type Computation } from '../../src/computed/evaluate-subject.ts';
import type { TraitLevel } from '../../src/computed/index.ts';
import { parseAudience, parseComputedTrait } from '../../src/language/index.ts';
import { EventStore } from '../../src/events/index.ts';
import type { Database } from '../../src/postgres/database.ts';
import { ProfilesService } from '../../src/profiles/index.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { accountInput, profileInput } from '../support/oracle.ts';
import { openPrivateDatabase } from '../support/postgres.ts';
import { newStack, type Stack } from '../support/stack.ts';

interface Definition {
  kind: 'computed_trait' | 'audience';
  text: string;
  level: TraitLevel;
  includeAnonymous?: boolean;
}

const DEFINITIONS: Record<string, Definition> = {
  orders: { kind: 'computed_trait', level: 'USERS', text: "event('Order Completed').count()" },
  revenue_2d: {
    kind: 'computed_trait',
    level: 'USERS',
    text: "event('Order Completed').within(2 days).sum(property('total'))",
  },
  buyer: { kind: 'audience', level: 'USERS', text: "event('Order Completed').count() >= 1" },
  recent_big: {
    kind: 'audience',
    level: 'USERS',
    text: "event('Order Completed').within(2 days).sum(property('total')) >= 100",
    includeAnonymous: true,
  },
  pro: { kind: 'audience', level: 'USERS', text: "trait('plan') = 'pro'", includeAnonymous: true },
  pro_buyer: { kind: 'audience', level: 'USERS', text: "trait('pro') = true AND trait('buyer') = true" },
  lapsed: {
    kind: 'audience',
    level: 'USERS',
    text: "trait('buyer') = true AND event('Order Completed').within(1 days).count() = 0",
    includeAnonymous: true,
  },
  trial_ending: {
    kind: 'audience',
    level: 'USERS',
    text: "trait('trial_ends').within_next(1 days)",
    includeAnonymous: true,
  },
  rich: { kind: 'audience', level: 'USERS', text: "trait('revenue_2d') >= 150", includeAnonymous: true },
  any_pro: { kind: 'audience', level: 'ACCOUNTS', text: "ANY(trait('pro') = true)" },
  all_buyers: { kind: 'audience', level: 'ACCOUNTS', text: "ALL(event('Order Completed').count() >= 1)" },
  gold: { kind: 'audience', level: 'ACCOUNTS', text: "trait('tier') = 'gold'" },
  busy_account: {
    kind: 'audience',
    level: 'ACCOUNTS',
    text: "event('Order Completed').within(1 days).count() >= 2",
  },
};
const LATER = new Set(['rich', 'busy_account']);
/** Drafts previewed at the end of each run, referring to live audiences, computed traits and custom traits. */
const PREVIEWS: Omit<Definition, 'kind'>[] = [
  {
    level: 'USERS',
    text: "trait('pro_buyer') = true OR event('Order Completed').within(2 days).count() >= 2",
  },
  { level: 'USERS', text: "trait('plan') = 'pro' AND trait('orders') >= 1", includeAnonymous: true },
  { level: 'USERS', text: "NOT trait('lapsed') = true AND trait('revenue_2d') > 0", includeAnonymous: true },
  { level: 'ACCOUNTS', text: "ANY(trait('buyer') = true) AND NOT trait('tier') = 'silver'" },
  { level: 'ACCOUNTS', text: "trait('busy_account') = true OR ALL(trait('plan') = 'pro')" },
];
/** The changed definitions (updateAudience midway): `recent_big`, and `pro`, which others refer to. */
const UPDATED = "event('Order Completed').within(2 days).sum(property('total')) >= 50";
const PRO_UPDATED = "trait('plan') = 'free'";

function computation(key: string, d: Definition, text = d.text): Computation {
  if (d.kind === 'computed_trait') {
    const parsed = parseComputedTrait(text);
    if (!parsed.ok) throw new Error(`${key}: ${parsed.error.message}`);
    return { kind: 'computed_trait', key, level: d.level, definition: parsed.definition };
  }
  const parsed = parseAudience(text);
  if (!parsed.ok) throw new Error(`${key}: ${parsed.error.message}`);
  return {
    kind: 'audience',
    key,
    level: d.level,
    definition: parsed.definition,
    includeAnonymous: d.includeAnonymous ?? false,
  };
}

type Who = { userId: string } | { anonymousId: string } | { userId: string; anonymousId: string };
type Command =
  | { kind: 'order'; who: Who; ageHours: number; total: number }
  | { kind: 'identify'; person: number; plan: string; trialHours: number }
  | { kind: 'group'; who: Who; account: string; tier: string | null }
  | { kind: 'resend'; index: number }
  | { kind: 'advance'; hours: number }
  | { kind: 'drain' }
  | { kind: 'restart' }
  | { kind: 'define-later' }
  | { kind: 'update' }
  | { kind: 'update-pro' }
  | { kind: 'delete-pro' };

const person = fc.integer({ min: 1, max: 3 });
const who: fc.Arbitrary<Who> = fc.oneof(
  { weight: 1, arbitrary: person.map((p) => ({ userId: `u${p}` })) },
  { weight: 2, arbitrary: person.map((p) => ({ anonymousId: `a${p}` })) },
  { weight: 1, arbitrary: person.map((p) => ({ userId: `u${p}`, anonymousId: `a${p}` })) },
);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      who,
      ageHours: fc.integer({ min: 0, max: 60 }),
      total: fc.integer({ min: 0, max: 120 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('identify' as const),
      person,
      plan: fc.constantFrom('pro', 'free'),
      trialHours: fc.integer({ min: -12, max: 60 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('group' as const),
      who,
      account: fc.constantFrom('g1', 'g2'),
      tier: fc.constantFrom('gold', 'silver', null),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resend' as const), index: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 30 }) }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'drain' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'define-later' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'update' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'update-pro' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'delete-pro' as const }) },
);

let t: TestGraph;
let own: { db: Database; drop: () => Promise<void> };
let now = new Date('2026-07-01T00:00:00Z');
const clock = () => new Date(now.getTime());
const settings = { ...DEFAULT_COMPUTED_SETTINGS, expirySweepMs: 0, chunk: 5 };
let computed: ComputedTraitsService;

let profiles: ProfilesService;

/** The worker as the service wires it: custom traits from the graph, for every space it meets. */
function newService(): ComputedTraitsService {
  return new ComputedTraitsService(own.db, settings, clock, undefined, null, (space, level, ids) =>
    profiles.customTraits(space, level, ids),
  );
}

beforeAll(async () => {
  const shared = await openTestGraph();
  own = await openPrivateDatabase();
  t = { ...shared, db: own.db, close: shared.close };
  profiles = new ProfilesService(t.graph, new EventStore(own.db));
  computed = newService();
});
afterAll(async () => {
  await computed.stop();
  await own.drop();
  await t.close();
});

async function define(s: Stack, keys: (key: string) => boolean): Promise<void> {
  for (const [key, d] of Object.entries(DEFINITIONS)) {
    if (!keys(key)) continue;
    const created =
      d.kind === 'computed_trait'
        ? await computed.create(s.space, { key, definition: d.text, level: d.level, description: null })
        : await computed.createAudience(s.space, {
            key,
            definition: d.text,
            level: d.level,
            includeAnonymous: d.includeAnonymous ?? false,
            description: null,
          });
    if (!created.ok) throw new Error(`${key}: ${created.message}`);
  }
}

async function settle(s: Stack): Promise<void> {
  for (let i = 0; i < 400; i++) {
    await computed.catchUp();
    const all = [...(await computed.list(s.space)), ...(await computed.audiences(s.space))];
    if (all.every((c) => c.status === 'LIVE')) {
      const { marked, recomputed } = await computed.catchUp();
      if (marked === 0 && recomputed === 0) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('audiences did not settle');
}

function ordered(defined: Set<string>, texts: Map<string, string>, level: TraitLevel): Computation[] {
  const list = Object.entries(DEFINITIONS)
    .filter(([key, d]) => defined.has(key) && d.level === level)
    .map(([key, d]) => computation(key, d, texts.get(key) ?? d.text));
  const order = evaluationOrder(list);
  if ('cycle' in order) throw new Error(`cycle ${order.cycle.join(' ')}`);
  return order.order;
}

describe('audiences: maintained memberships equal the oracle', () => {
  it('after random events, traits, accounts, merges, duplicates, clock advances, restarts and edits', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 30, size: 'max' }), async (commands) => {
        run += 1;
        now = new Date(Date.UTC(2026, 6, 1 + run));
        const s = await newStack(t, { clock });
        const defined = new Set([...Object.keys(DEFINITIONS)].filter((k) => !LATER.has(k)));
        await define(s, (k) => defined.has(k));
        // Definitions changed midway, by key.
        const texts = new Map<string, string>();
        const sent: { type: 'track' | 'identify' | 'group'; input: Record<string, unknown> }[] = [];
        const accounts = new Set<string>();
        for (const [i, c] of commands.entries()) {
          const at = (hours: number) => new Date(now.getTime() - hours * 3_600_000).toISOString();
          switch (c.kind) {
            case 'order':
              sent.push({
                type: 'track',
                input: {
                  ...c.who,
                  event: 'Order Completed',
                  properties: { total: c.total },
                  timestamp: at(c.ageHours),
                  messageId: `m${i}`,
                },
              });
              break;
            case 'identify':
              sent.push({
                type: 'identify',
                input: {
                  userId: `u${c.person}`,
                  anonymousId: `a${c.person}`,
                  traits: { plan: c.plan, trial_ends: at(-c.trialHours) },
                  timestamp: at(0),
                  messageId: `m${i}`,
                },
              });
              break;
            case 'group':
              accounts.add(c.account);
              sent.push({
                type: 'group',
                input: {
                  ...c.who,
                  groupId: c.account,
                  ...(c.tier === null ? {} : { traits: { tier: c.tier } }),
                  timestamp: at(0),
                  messageId: `m${i}`,
                },
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
              computed = newService();
              continue;
            case 'define-later':
              if (![...LATER].every((k) => defined.has(k))) {
                for (const k of LATER) defined.add(k);
                await define(s, (k) => LATER.has(k));
              }
              continue;
            case 'update':
            case 'update-pro': {
              const [key, definition] = c.kind === 'update' ? ['recent_big', UPDATED] : ['pro', PRO_UPDATED];
              if (defined.has(key) && !texts.has(key)) {
                texts.set(key, definition);
                const result = await computed.updateAudience(s.space, {
                  key,
                  definition,
                  includeAnonymous: true,
                  description: null,
                });
                expect(result.ok).toBe(true);
              }
              continue;
            }
            case 'delete-pro':
              // pro_buyer and any_pro (ANY) read `pro` as a custom trait from then on, which no one has.
              if (defined.has('pro')) {
                defined.delete('pro');
                expect(await computed.deleteAudience(s.space, 'pro')).toBe(true);
              }
              continue;
          }
          const last = sent[sent.length - 1];
          if (last !== undefined) expect((await s.send(last.type, last.input)).ok).toBe(true);
        }
        await settle(s);

        const users = ordered(defined, texts, 'USERS');
        const { rows } = await own.db.pool.query<{ profile_id: string }>(
          'SELECT DISTINCT profile_id FROM identity_map WHERE space = $1 ORDER BY 1',
          [s.space],
        );
        const ids = rows.map((r) => r.profile_id);
        const values = await computed.values(s.space, ids);
        const members = await computed.memberships(s.space, ids);
        for (const id of ids) {
          const expected = evaluateSubject(users, await profileInput(s, id), clock());
          const kept = {
            ...Object.fromEntries((values.get(id) ?? []).map((v) => [v.key, v.value])),
            ...Object.fromEntries(
              users.filter((c) => c.kind === 'audience').map((c) => [c.key, false] as [string, unknown]),
            ),
            ...Object.fromEntries((members.get(id) ?? []).map((m) => [m.key, true])),
          };
          expect(kept, `profile ${id} of ${s.space}`).toEqual(Object.fromEntries(expected.values));
        }

        const accountLevel = ordered(defined, texts, 'ACCOUNTS');
        const groups = [...accounts].sort();
        const accountMembers = await computed.memberships(s.space, groups, 'ACCOUNTS');
        for (const g of groups) {
          const expected = evaluateSubject(accountLevel, await accountInput(s, g), clock(), users);
          const kept = Object.fromEntries(accountLevel.map((c) => [c.key, false] as [string, unknown]));
          for (const m of accountMembers.get(g) ?? []) kept[m.key] = true;
          expect(kept, `account ${g} of ${s.space}`).toEqual(Object.fromEntries(expected.values));
        }

        // A preview (stored values for what its draft refers to, the space's events in one read) equals
        // the draft evaluated from scratch with everything it refers to.
        for (const draft of PREVIEWS) {
          const c = computation('draft', { kind: 'audience', ...draft });
          const level = draft.level;
          const subjects = level === 'USERS' ? ids : groups;
          const expected: string[] = [];
          for (const id of subjects) {
            const evaluated =
              level === 'USERS'
                ? evaluateSubject([...users, c], await profileInput(s, id), clock())
                : evaluateSubject([...accountLevel, c], await accountInput(s, id), clock(), users);
            if (evaluated.values.get('draft') === true) expected.push(id);
          }
          const preview = await computed.previewAudience(s.space, {
            definition: draft.text,
            level,
            includeAnonymous: draft.includeAnonymous ?? false,
            sample: 100,
          });
          expect(preview, `preview of ${draft.text} in ${s.space}`).toMatchObject({
            ok: true,
            size: expected.length,
            sample: expected.sort().map((subjectId) => ({ level, subjectId })),
          });
        }
      }),
      { seed: 20261130, numRuns: 12, endOnFailure: true },
    );
  }, 600_000);
});
