// Issue 10 "Done when": random mixtures of valid and hostile items sent to /v1/batch of the real service
// (fast-check, seeded, bounded). Never a 5xx; every valid item applied; every refused item reported with a
// code and its path; the identity graph's invariants hold afterwards (SEMANTICS.md §1, §7, §8).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/identity/index.ts';
import type { Service } from '../../src/service.ts';
import { storedCounts } from '../support/postgres.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { startTestService } from '../support/service.ts';

const run = randomUUID().slice(0, 8);
const space = `fuzz-${run}`;
let service: Service;
let t: TestGraph;
let writeKey = '';

beforeAll(async () => {
  [service, t] = await Promise.all([startTestService(), openTestGraph()]);
  await service.services.spaces.createSpace(space);
  writeKey = (await service.services.spaces.createKey(space, 'write')).secret;
});
afterAll(async () => {
  await Promise.all([service?.stop(), t?.close()]);
});

/** Placeholders replaced in the JSON text by numbers JSON.stringify cannot write. */
const BIG = '"\u0001BIG\u0001"';
const BIG_TEXT = JSON.stringify(BIG.slice(1, -1));

/** What an item must come to: applied, refused (with a code and path), or either (but never a 5xx). */
type Expect = 'applied' | 'refused' | 'either';
interface Item {
  body: Record<string, unknown>;
  expect: Expect;
}

let counter = 0;
const fresh = (label: string) => `${label}-${run}-${counter++}`;

const oddTime = fc.constantFrom(
  '2015-2-02T00:30:12.984Z',
  '2017',
  '2024-05-01',
  'NOW',
  '0027-06-27T08:23:48+03:00',
  '2569-01-01T00:00:00Z',
  1714564800000,
  null,
  '2024-05-01T12:00:00+02:00',
);
const emptyMap = fc.constantFrom<unknown>([], {}, null);
const junk = fc.constantFrom(
  'null',
  'NULL',
  'undefined',
  'N/A',
  'none',
  '[object Object]',
  '0',
  '-1',
  'true',
);
const keyChars = fc.constantFrom('a', 'b', ' ', '.', '$', '\u0001', '\u001f', 'é', '😀', '__proto__');

/** Items that must be applied: a fresh userId, whatever odd-but-acceptable extras come with it. */
const validItem: fc.Arbitrary<() => Item> = fc
  .record({
    type: fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'alias'),
    timestamp: oddTime,
    map: emptyMap,
    traitKey: fc.array(keyChars, { minLength: 1, maxLength: 6 }).map((cs) => cs.join('')),
    email: fc.oneof(junk, fc.constant('Jane\u200b@X.com'), fc.constant(undefined)),
    numericId: fc.boolean(),
    blankMessageId: fc.boolean(),
  })
  .map((r) => () => {
    const userId = r.numericId ? 1_000_000 + counter++ : fresh('v');
    const body: Record<string, unknown> = {
      type: r.type,
      userId,
      messageId: r.blankMessageId ? '' : fresh('m'),
      timestamp: r.timestamp,
      context: r.map,
      integrations: r.map,
    };
    if (r.type === 'track') body.event = 'Fuzzed';
    if (r.type === 'group') body.groupId = fresh('g');
    if (r.type === 'alias') body.previousId = fresh('p');
    if (r.type === 'identify')
      body.traits = { [r.traitKey]: 1, ...(r.email === undefined ? {} : { email: r.email }) };
    else body.properties = r.map;
    return { body, expect: 'applied' };
  });

/** Items that must be refused alone. */
const hostileItem: fc.Arbitrary<() => Item> = fc
  .constantFrom(
    () => ({ type: 'identify', userId: 'x'.repeat(9000) }),
    () => ({ type: 'identify', userId: '😀'.repeat(2100) }),
    () => ({ type: 'identify', userId: BIG.slice(1, -1) }),
    () => ({ type: 'group', userId: fresh('h'), groupId: 'g'.repeat(5000) }),
    () => ({ type: 'identify', userId: fresh('h'), traits: { email: `${'e'.repeat(9000)}@x.com` } }),
    () => ({ type: 'identify', userId: fresh('h'), traits: { 'a\u0000b': 1 } }),
    () => ({
      type: 'identify',
      userId: fresh('h'),
      context: { externalIds: [{ id: 'i'.repeat(2000), type: 'crm' }] },
    }),
    () => ({
      type: 'identify',
      userId: fresh('h'),
      context: { externalIds: [{ id: 'x', type: 't'.repeat(200) }] },
    }),
    () => ({ type: 'identify', anonymousId: 'null' }),
    () => ({ type: 'track', userId: fresh('h') }),
    () => ({ type: 'nope', userId: fresh('h') }),
    () => ({ type: 'identify', userId: fresh('h'), context: 'text' }),
    () => ({ type: 'identify', userId: fresh('h'), messageId: 'm'.repeat(101) }),
    () => ({ type: 'identify', userId: 1.5 }),
  )
  .map((make) => () => ({ body: make() as Record<string, unknown>, expect: 'refused' as const }));

/** Items whose fate is not fixed here, only that they are answered properly. */
const oddItem: fc.Arbitrary<() => Item> = fc
  .record({
    userId: fc.oneof(junk, fc.string({ maxLength: 30 }), fc.integer()),
    anonymousId: fc.oneof(junk, fc.string({ maxLength: 5 })),
  })
  .map((r) => () => ({ body: { type: 'identify', ...r }, expect: 'either' as const }));

const batchArb = fc.array(fc.oneof(validItem, validItem, hostileItem, oddItem), {
  minLength: 1,
  maxLength: 12,
});

const CODES = new Set(['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'NO_IDENTIFIERS']);

describe('/v1/batch under random mixtures of valid and hostile items', () => {
  it('never answers 5xx, applies every valid item and reports every refusal with a code and path', async () => {
    const applied: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        batchArb,
        fc.constantFrom<unknown>([], {}, undefined),
        async (makers, batchContext) => {
          const items = makers.map((make) => make());
          const payload = {
            batch: items.map((i) => i.body),
            ...(batchContext === undefined ? {} : { context: batchContext }),
          };
          const text = JSON.stringify(payload).replaceAll(BIG_TEXT, '6416965886464272042');
          const res = await fetch(`${service.url}/v1/batch`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
            },
            body: text,
          });
          expect(res.status === 200 || res.status === 400).toBe(true);
          const body = (await res.json()) as {
            results: {
              ok: boolean;
              messageId: string | null;
              duplicate: boolean;
              error: { code: string; path: unknown[] } | null;
            }[];
          };
          expect(body.results).toHaveLength(items.length);
          items.forEach((item, i) => {
            const result = body.results[i];
            if (item.expect === 'applied') {
              expect(result).toMatchObject({ ok: true, duplicate: false, error: null });
              applied.push(result?.messageId ?? '');
            }
            if (item.expect === 'refused') expect(result?.ok).toBe(false);
            if (result?.ok === false) {
              expect(CODES.has(result.error?.code ?? '')).toBe(true);
              expect(result.error?.path.slice(0, 2)).toEqual(['batch', i]);
            }
          });
        },
      ),
      { seed: 20261129, numRuns: 25 },
    );

    // Every applied item is stored once, and the graph is sound.
    const stored = await storedCounts(t.db, space);
    expect(applied.filter((id) => stored.get(id) === 1)).toHaveLength(applied.length);
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
    expect((await checkInvariants(t.graph, space)).filter((r) => r.count > 0)).toEqual([]);
  });
});
