// SEMANTICS.md §3, §8 "Order independence": additions that do not conflict in event time give the same
// profiles whatever order they arrive in. planBatch resolves a batch's events one after another, exactly
// as separate transactions would, so a shuffled batch is a shuffled arrival order (issue 10, case 5).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBatch, type BatchEvent } from '../../src/identity/batch.ts';
import { extractIdentifiers } from '../../src/identity/identifiers.ts';
import { defaultRules, type IdentifierRule } from '../../src/identity/rules.ts';
import type { ValidEvent } from '../../src/ingest/event.ts';

const HOUR = 3_600_000;
const start = Date.parse('2024-01-01T00:00:00Z');
const now = new Date('2024-06-01T00:00:00Z');

/** email: at most 2 values in any day-long stretch of event time. */
const rules: IdentifierRule[] = defaultRules().map((r) =>
  r.type === 'email' ? { ...r, limit: 2, window: 'DAY' } : r,
);

function event(n: number, fields: Partial<ValidEvent> & Pick<ValidEvent, 'type'>, at: number): BatchEvent {
  const e: ValidEvent = {
    messageId: `m-${n}`,
    context: {},
    integrations: {},
    timestamp: new Date(at),
    receivedAt: now,
    warnings: [],
    ...fields,
  };
  return { event: e, identifiers: extractIdentifiers(e) };
}

interface UserPlan {
  /** Hours between consecutive emails: 13 h or more, so no three fit in a day. */
  gaps: number[];
  plans: (string | null)[];
  anonymousAt: number;
}

const userArb: fc.Arbitrary<UserPlan> = fc.record({
  gaps: fc.array(fc.integer({ min: 13, max: 72 }), { minLength: 1, maxLength: 5 }),
  plans: fc.array(fc.constantFrom('free', 'pro', 'team', null), { minLength: 5, maxLength: 5 }),
  anonymousAt: fc.integer({ min: 0, max: 400 }),
});

/** Each user: identifies with successive emails, an anonymous visit, and the identify that links it. */
function eventsOf(users: UserPlan[]): BatchEvent[] {
  const out: BatchEvent[] = [];
  users.forEach((u, i) => {
    let t = start;
    u.gaps.forEach((gap, j) => {
      t += gap * HOUR;
      const traits = { email: `u${i}-e${j}@x.com`, plan: u.plans[j] ?? 'free' };
      out.push(event(out.length, { type: 'identify', userId: `u${i}`, traits }, t));
    });
    const anon = `a${i}`;
    out.push(
      event(out.length, { type: 'track', event: 'Visited', anonymousId: anon }, start + u.anonymousAt * HOUR),
    );
    out.push(event(out.length, { type: 'identify', userId: `u${i}`, anonymousId: anon }, start + 500 * HOUR));
  });
  return out;
}

/** Profiles as their identifier keys and traits, without ids (which depend on arrival order). */
function outcome(events: BatchEvent[]) {
  let n = 0;
  const plan = planBatch({
    events,
    rules,
    profiles: [],
    ownerOf: new Map(),
    now,
    newProfileId: () => `p${n++}`,
  });
  const keysOf = new Map<string, string[]>();
  for (const link of plan.links)
    keysOf.set(link.profileId, [...(keysOf.get(link.profileId) ?? []), link.key]);
  const traitsOf = new Map(plan.updates.map((u) => [u.id, u.traits.values]));
  const violations = plan.results.flatMap((r) => r.violations);
  return {
    violations,
    profiles: [...keysOf]
      .map(([id, keys]) => ({ keys: [...keys].sort(), traits: traitsOf.get(id) ?? {} }))
      .sort((a, b) => (a.keys[0] ?? '').localeCompare(b.keys[0] ?? '')),
  };
}

describe('order independence of windowed limits (§3, §8)', () => {
  const oneEmailADay = defaultRules().map((r) =>
    r.type === 'email' ? { ...r, limit: 1, window: 'DAY' as const } : r,
  );
  const identifyAt = (n: number, email: string, hours: number) =>
    event(n, { type: 'identify', userId: 'u', traits: { email } }, start + hours * HOUR);
  /** The plan of both arrival orders of two events. */
  const bothOrders = (a: BatchEvent, b: BatchEvent) =>
    [
      [a, b],
      [b, a],
    ].map((events) =>
      planBatch({
        events,
        rules: oneEmailADay,
        profiles: [],
        ownerOf: new Map(),
        now,
        newProfileId: () => 'p',
      }),
    );

  it('keeps two emails a day and an hour apart in either order', () => {
    for (const plan of bothOrders(identifyAt(0, 'a@x.com', 0), identifyAt(1, 'b@x.com', 25))) {
      expect(plan.links.map((l) => l.key).sort()).toEqual(['email:a@x.com', 'email:b@x.com', 'user_id:u']);
      expect(plan.results.flatMap((r) => r.violations)).toEqual([]);
    }
  });

  it('demotes one of two emails 23 hours apart, whichever arrives first', () => {
    for (const plan of bothOrders(identifyAt(0, 'a@x.com', 0), identifyAt(1, 'b@x.com', 23))) {
      expect(plan.links.filter((l) => l.key.startsWith('email:'))).toHaveLength(1);
      expect(plan.results.flatMap((r) => r.violations)).toMatchObject([{ code: 'LIMIT_EXCEEDED' }]);
    }
  });

  it('gives the same profiles and traits for every arrival order of non-conflicting events', () => {
    fc.assert(
      fc.property(
        fc.array(userArb, { minLength: 1, maxLength: 3 }).chain((users) => {
          const events = eventsOf(users);
          return fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length }));
        }),
        ([inOrder, shuffled]) => {
          const expected = outcome(inOrder);
          expect(expected.violations).toEqual([]);
          expect(outcome(shuffled)).toEqual(expected);
        },
      ),
      { seed: 20261129, numRuns: 300 },
    );
  });
});
