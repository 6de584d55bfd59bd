// The clock's part of "real time everywhere" (SEMANTICS.md §9, §10; docs/adr/0022-audiences.md, "Ageing"):
// before the instant audienceNextChange / computedTraitNextChange return, the answer is the one of now;
// a property over random events, traits and instants, and the cases the instant must catch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  audienceNextChange,
  computedTraitNextChange,
  computeTrait,
  evaluateAudience,
  parseAudience,
  parseComputedTrait,
  type AudienceSubject,
  type LanguageEvent,
} from '../../src/language/index.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = new Date('2026-06-01T12:00:00Z');

function trait(text: string) {
  const parsed = parseComputedTrait(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.definition;
}

function audience(text: string) {
  const parsed = parseAudience(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.definition;
}

const TRAITS = [
  "event('Order Completed').within(2 days).count()",
  "event('Order Completed').within(5 hours).sum(property('total'))",
  "event('Order Completed').where(property('due').within_next(3 days)).count()",
  "event('Order Completed').where(property('due').before_last(1 days)).last(property('total'))",
  "event('Order Completed').count()",
].map(trait);

const AUDIENCES = [
  "event('Order Completed').within(2 days).count() >= 2",
  "event('Order Completed').within(30 days).count() = 0",
  "trait('trial_ends_at').within_next(3 days)",
  "trait('signed_up').within_last(2 days) AND NOT event('Order Completed').within(1 days).count() >= 1",
  "trait('renews').after_next(1 days) OR trait('renews').before_last(1 days)",
  "event('Order Completed').last(property('due')).within_next(2 days)",
  "ANY(event('Order Completed').within(2 days).count() >= 1)",
  "ALL(trait('trial_ends_at').within_next(3 days))",
].map(audience);

const offset = fc.integer({ min: -6 * DAY, max: 6 * DAY });
const iso = (ms: number) => new Date(now.getTime() + ms).toISOString();
const event: fc.Arbitrary<LanguageEvent> = fc
  .record({ ago: offset, total: fc.integer({ min: 0, max: 50 }), due: offset, id: fc.nat(1000) })
  .map(({ ago, total, due, id }) => ({
    type: 'track',
    event: 'Order Completed',
    properties: { total, due: iso(due) },
    timestamp: new Date(now.getTime() - Math.abs(ago)),
    messageId: `m${id}`,
  }));
const traits = fc.record({
  trial_ends_at: offset.map(iso),
  signed_up: offset.map(iso),
  renews: offset.map(iso),
});
const subject: fc.Arbitrary<AudienceSubject> = fc.record({
  events: fc.array(event, { maxLength: 6 }),
  traits,
  members: fc.array(fc.record({ events: fc.array(event, { maxLength: 3 }), traits }), { maxLength: 3 }),
});
/** Instants after now, as fractions of the way to the next change (or of a week when there is none). */
const fractions = fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
  minLength: 1,
  maxLength: 5,
});

describe('the next instant an answer may change', () => {
  it('computed traits: before it, the value is the one of now', () => {
    fc.assert(
      fc.property(
        fc.nat(TRAITS.length - 1),
        fc.array(event, { maxLength: 8 }),
        fractions,
        (i, events, fs) => {
          const definition = TRAITS[i]!;
          const next = computedTraitNextChange(definition, events, now);
          const until = next === null ? now.getTime() + 7 * DAY : next.getTime();
          const value = computeTrait(definition, events, now);
          for (const f of fs) {
            const at = new Date(now.getTime() + Math.floor(f * (until - now.getTime())));
            expect(computeTrait(definition, events, at)).toEqual(value);
          }
        },
      ),
      { seed: 20261130, numRuns: 400 },
    );
  });

  it('audiences: before it, membership is the one of now', () => {
    fc.assert(
      fc.property(fc.nat(AUDIENCES.length - 1), subject, fractions, (i, s, fs) => {
        const definition = AUDIENCES[i]!;
        const next = audienceNextChange(definition, s, now);
        const until = next === null ? now.getTime() + 7 * DAY : next.getTime();
        const member = evaluateAudience(definition, s, now);
        for (const f of fs) {
          const at = new Date(now.getTime() + Math.floor(f * (until - now.getTime())));
          expect(evaluateAudience(definition, s, at)).toBe(member);
        }
      }),
      { seed: 20261130, numRuns: 400 },
    );
  });

  it('names the instant an event ages out, a trial starts and ends, and nothing for timeless answers', () => {
    const order = (agoMs: number): LanguageEvent => ({
      type: 'track',
      event: 'Order Completed',
      properties: {},
      timestamp: new Date(now.getTime() - agoMs),
      messageId: `o${agoMs}`,
    });
    expect(computedTraitNextChange(TRAITS[0]!, [order(DAY), order(3 * HOUR)], now)).toEqual(
      new Date(now.getTime() + DAY),
    );
    expect(computedTraitNextChange(TRAITS[4]!, [order(DAY)], now)).toBeNull();
    const trial = (endsInMs: number): AudienceSubject => ({
      events: [],
      traits: { trial_ends_at: iso(endsInMs) },
    });
    // Ends in 5 days: enters 3 days before, at +2 days.
    expect(audienceNextChange(AUDIENCES[2]!, trial(5 * DAY), now)).toEqual(new Date(now.getTime() + 2 * DAY));
    // Ends in 1 day: a member now, leaves just after it ends.
    expect(evaluateAudience(AUDIENCES[2]!, trial(DAY), now)).toBe(true);
    expect(audienceNextChange(AUDIENCES[2]!, trial(DAY), now)).toEqual(new Date(now.getTime() + DAY));
    expect(audienceNextChange(audience("trait('plan') = 'pro'"), trial(DAY), now)).toBeNull();
    // Ends now: still in (the range is inclusive), out a millisecond later.
    expect(evaluateAudience(AUDIENCES[2]!, trial(0), now)).toBe(true);
    expect(audienceNextChange(AUDIENCES[2]!, trial(0), now)).toEqual(new Date(now.getTime() + 1));
    expect(evaluateAudience(AUDIENCES[2]!, trial(0), new Date(now.getTime() + 1))).toBe(false);
  });
});
