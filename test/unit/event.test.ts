import { describe, expect, it } from 'vitest';
import {
  LIMITS,
  correctedTimestamp,
  mergeBatchDefaults,
  parseTimestamp,
  validateBatch,
  validateEvent,
  type EventType,
  type Validated,
} from '../../src/ingest/event.ts';

const receivedAt = new Date('2024-05-01T12:00:00.000Z');

function idGenerator(): () => string {
  let n = 0;
  return () => `gen-${++n}`;
}

function validate(type: EventType, input: unknown, path?: (string | number)[]): Validated {
  return validateEvent(type, input, receivedAt, idGenerator(), path);
}

function valid(type: EventType, input: unknown) {
  const result = validate(type, input);
  if (!result.ok) throw new Error(`expected valid, got ${JSON.stringify(result.error)}`);
  return result.event;
}

function error(type: EventType, input: unknown) {
  const result = validate(type, input);
  if (result.ok) throw new Error('expected a validation error');
  return result.error;
}

describe('validateEvent: required fields (§1)', () => {
  it.each(['identify', 'track', 'page', 'screen', 'group'] as const)(
    '%s needs userId or anonymousId',
    (type) => {
      const input = { event: 'Signed Up', groupId: 'g1' };
      expect(error(type, input)).toEqual({
        code: 'VALIDATION_FAILED',
        message: 'userId or anonymousId is required',
        path: ['userId'],
      });
      expect(valid(type, { ...input, anonymousId: 'a1' }).anonymousId).toBe('a1');
      expect(valid(type, { ...input, userId: 'u1' }).userId).toBe('u1');
    },
  );

  it('treats blank ids as absent and trims ids', () => {
    expect(error('identify', { userId: '   ', anonymousId: '' }).path).toEqual(['userId']);
    const event = valid('identify', { userId: '  u1 ', anonymousId: '' });
    expect(event.userId).toBe('u1');
    expect(event.anonymousId).toBeUndefined();
  });

  it('treats null optional fields as absent', () => {
    const event = valid('identify', { userId: 'u1', anonymousId: null, traits: null, context: null });
    expect(event.anonymousId).toBeUndefined();
    expect(event.traits).toBeUndefined();
    expect(event.context).toEqual({});
  });

  it('accepts an exact integer userId as its digits and refuses other types', () => {
    expect(valid('identify', { userId: 42 }).userId).toBe('42');
    expect(valid('identify', { userId: -9007199254740991 }).userId).toBe('-9007199254740991');
    expect(error('identify', { userId: Number.NaN }).path).toEqual(['userId']);
    expect(error('identify', { userId: 1.5 }).path).toEqual(['userId']);
    expect(error('identify', { userId: { id: 1 } })).toMatchObject({
      code: 'VALIDATION_FAILED',
      path: ['userId'],
    });
    expect(error('identify', { anonymousId: true }).path).toEqual(['anonymousId']);
  });

  it('track needs a non-empty event name', () => {
    expect(error('track', { userId: 'u1' })).toMatchObject({ code: 'VALIDATION_FAILED', path: ['event'] });
    expect(error('track', { userId: 'u1', event: '  ' }).path).toEqual(['event']);
    expect(error('track', { userId: 'u1', event: 7 }).path).toEqual(['event']);
    expect(valid('track', { userId: 'u1', event: 'Order Completed' }).event).toBe('Order Completed');
  });

  it('group needs a non-empty groupId', () => {
    expect(error('group', { userId: 'u1' })).toMatchObject({ code: 'VALIDATION_FAILED', path: ['groupId'] });
    expect(error('group', { userId: 'u1', groupId: '' })).toMatchObject({
      code: 'VALIDATION_FAILED',
      path: ['groupId'],
    });
    expect(valid('group', { userId: 'u1', groupId: 'acme', traits: { plan: 'pro' } })).toMatchObject({
      groupId: 'acme',
      traits: { plan: 'pro' },
    });
  });

  // Changed on purpose (issue 10, case 13): Segment's HTTP API takes an alias with anonymousId and no userId.
  it('alias needs previousId and userId or anonymousId', () => {
    expect(valid('alias', { previousId: 'p1', anonymousId: 'a1' })).toMatchObject({
      anonymousId: 'a1',
      previousId: 'p1',
    });
    expect(error('alias', { previousId: 'p1' })).toMatchObject({
      code: 'VALIDATION_FAILED',
      path: ['userId'],
    });
    expect(error('alias', { userId: 'u1' })).toMatchObject({
      code: 'VALIDATION_FAILED',
      path: ['previousId'],
    });
    expect(valid('alias', { userId: 'u1', previousId: 'anon-9' })).toMatchObject({
      userId: 'u1',
      previousId: 'anon-9',
    });
  });

  it('refuses a non-object event', () => {
    expect(error('track', 'hello')).toMatchObject({ code: 'VALIDATION_FAILED', path: [] });
    expect(error('track', [{ userId: 'u1' }]).code).toBe('VALIDATION_FAILED');
  });
});

describe('validateEvent: field types', () => {
  // Issue 10, case 6: PHP encodes an empty map as `[]`.
  it.each(['traits', 'properties', 'context', 'integrations'])('reads %s: [] as {}', (field) => {
    expect(valid('identify', { userId: 'u1', [field]: [] })).toMatchObject({ [field]: {} });
  });

  it.each(['traits', 'properties', 'context', 'integrations'])('%s must be a plain object', (field) => {
    for (const bad of ['x', 3, [1, 2]]) {
      expect(error('page', { userId: 'u1', [field]: bad })).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: `${field} must be an object`,
        path: [field],
      });
    }
  });

  it('name and category must be strings', () => {
    expect(error('page', { userId: 'u1', name: 5 }).path).toEqual(['name']);
    expect(error('page', { userId: 'u1', category: ['a'] }).path).toEqual(['category']);
    expect(valid('screen', { userId: 'u1', name: 'Home' }).name).toBe('Home');
    expect(valid('page', { userId: 'u1', name: 'Docs', category: 'Help' })).toMatchObject({
      name: 'Docs',
      category: 'Help',
    });
  });

  it('keeps properties, context and integrations and ignores unknown top-level fields', () => {
    const event = valid('track', {
      userId: 'u1',
      event: 'x',
      properties: { total: 3 },
      context: { ip: '1.2.3.4' },
      integrations: { All: false },
      somethingElse: 1,
    });
    expect(event.properties).toEqual({ total: 3 });
    expect(event.context).toEqual({ ip: '1.2.3.4' });
    expect(event.integrations).toEqual({ All: false });
    expect(event).not.toHaveProperty('somethingElse');
  });
});

describe('validateEvent: messageId', () => {
  it('generates one when absent', () => {
    expect(valid('identify', { userId: 'u1' }).messageId).toBe('gen-1');
  });

  it('keeps a given one of up to 100 characters', () => {
    const id = 'm'.repeat(LIMITS.messageIdChars);
    expect(valid('identify', { userId: 'u1', messageId: id }).messageId).toBe(id);
  });

  it('refuses one of 101 characters or a non-string', () => {
    const long = error('identify', { userId: 'u1', messageId: 'm'.repeat(101) });
    expect(long).toMatchObject({ code: 'VALIDATION_FAILED', path: ['messageId'] });
    expect(long.message).toContain('100');
    expect(error('identify', { userId: 'u1', messageId: 12 }).path).toEqual(['messageId']);
  });

  // Changed on purpose (issue 10, case 12): a blank messageId is absent, as a blank userId is (§8).
  it.each(['', '  '])('generates one for the blank messageId %j', (blank) => {
    expect(valid('identify', { userId: 'u1', messageId: blank }).messageId).toBe('gen-1');
  });
});

describe('validateEvent: timestamps and clock skew (§1 Time)', () => {
  // Changed on purpose (issue 10, case 11): an unreadable time field is not used and is named in a
  // warning; the event is kept (§1, §8).
  it.each(['timestamp', 'originalTimestamp', 'sentAt'])(
    'does not use %s without a timezone, and warns naming the field',
    (field) => {
      const e = valid('track', { userId: 'u1', event: 'x', [field]: '2024-05-01T11:00:00' });
      expect(e.timestamp).toEqual(receivedAt);
      expect(e.warnings).toMatchObject([{ code: 'TIMESTAMP_INVALID', path: [field] }]);
      expect(e.warnings[0]?.message).toContain('"2024-05-01T11:00:00"');
      expect(e.warnings[0]?.message).toContain('timezone');
    },
  );

  it.each([
    '2024-05-01',
    '2017',
    'yesterday',
    'NOW',
    '2015-2-02T00:30:12.984Z',
    '2024-02-30T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-05-01T25:00:00Z',
    '2024-05-01T10:00:00+25:00',
    1714564800000,
    true,
    { at: 'noon' },
  ])('keeps the event and does not use the unreadable timestamp %j', (bad) => {
    const e = valid('identify', { userId: 'u1', timestamp: bad });
    expect(e.timestamp).toEqual(receivedAt);
    expect(e.originalTimestamp).toBeUndefined();
    expect(e.warnings).toMatchObject([{ code: 'TIMESTAMP_INVALID', path: ['timestamp'] }]);
  });

  it('falls back to the other times the event has when one is unreadable', () => {
    const e = valid('identify', {
      userId: 'u1',
      timestamp: 'garbage',
      originalTimestamp: '2024-05-01T09:00:00Z',
    });
    expect(e.timestamp.toISOString()).toBe('2024-05-01T09:00:00.000Z');
    expect(e.warnings.map((w) => w.path)).toEqual([['timestamp']]);
    // An unreadable sentAt: no skew correction, the timestamp as given.
    const f = valid('identify', { userId: 'u1', timestamp: '2024-05-01T09:00:00Z', sentAt: 'later' });
    expect(f.timestamp.toISOString()).toBe('2024-05-01T09:00:00.000Z');
    expect(f.warnings).toMatchObject([{ code: 'TIMESTAMP_INVALID', path: ['sentAt'] }]);
  });

  // Issue 10, case 3: Date.UTC reads years 0–99 as 1900–1999.
  it.each([
    ['0027-06-27T08:23:48+03:00', '0027-06-27T05:23:48.000Z'],
    ['0099-12-31T00:00:00Z', '0099-12-31T00:00:00.000Z'],
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
    ['0004-02-29T12:00:00Z', '0004-02-29T12:00:00.000Z'],
  ])('keeps the year as written: %s', (text, iso) => {
    const parsed = parseTimestamp(text);
    expect(parsed.ok && parsed.date.toISOString()).toBe(iso);
    expect(valid('identify', { userId: 'u1', timestamp: text }).timestamp.toISOString()).toBe(iso);
  });

  it('refuses 0003-02-29, which no calendar has', () => {
    expect(parseTimestamp('0003-02-29T00:00:00Z').ok).toBe(false);
  });

  // Issue 10, case 4: a future clock must not win for longer than the tolerance (§8).
  it('sets an event time more than the tolerance past receivedAt to receivedAt, with a warning', () => {
    const e = valid('identify', { userId: 'u1', timestamp: '2569-01-01T00:00:00Z' });
    expect(e.timestamp).toEqual(receivedAt);
    expect(e.warnings).toMatchObject([{ code: 'TIMESTAMP_CLAMPED', path: ['timestamp'] }]);
    // Within the tolerance it is kept as written.
    const soon = new Date(receivedAt.getTime() + LIMITS.futureToleranceMs).toISOString();
    const kept = valid('identify', { userId: 'u1', timestamp: soon });
    expect(kept.timestamp.toISOString()).toBe(soon);
    expect(kept.warnings).toEqual([]);
  });

  it('clamps a time pushed ahead by a sentAt 14 days before timestamp', () => {
    const e = valid('track', {
      userId: 'u1',
      event: 'x',
      timestamp: '2024-05-15T12:00:00Z',
      sentAt: '2024-05-01T12:00:00Z',
    });
    expect(e.timestamp).toEqual(receivedAt);
    expect(e.warnings).toMatchObject([{ code: 'TIMESTAMP_CLAMPED', path: ['timestamp'] }]);
    expect(e.warnings[0]?.message).toContain('sentAt');
  });

  it('accepts Z and numeric offsets', () => {
    expect(
      valid('identify', { userId: 'u1', timestamp: '2024-05-01T10:00:00.5Z' }).timestamp.toISOString(),
    ).toBe('2024-05-01T10:00:00.500Z');
    expect(
      valid('identify', { userId: 'u1', timestamp: '2024-05-01T12:30:00+02:30' }).timestamp.toISOString(),
    ).toBe('2024-05-01T10:00:00.000Z');
    expect(
      valid('identify', { userId: 'u1', timestamp: '2024-05-01T05:00:00-0500' }).timestamp.toISOString(),
    ).toBe('2024-05-01T10:00:00.000Z');
  });

  it('without any timestamp uses receivedAt', () => {
    const event = valid('identify', { userId: 'u1' });
    expect(event.timestamp.getTime()).toBe(receivedAt.getTime());
    expect(event.receivedAt).toBe(receivedAt);
    expect(event.originalTimestamp).toBeUndefined();
  });

  it('without sentAt uses timestamp, else originalTimestamp', () => {
    expect(
      valid('identify', {
        userId: 'u1',
        timestamp: '2024-05-01T09:00:00Z',
        originalTimestamp: '2024-05-01T08:00:00Z',
      }).timestamp.toISOString(),
    ).toBe('2024-05-01T09:00:00.000Z');
    expect(
      valid('identify', { userId: 'u1', originalTimestamp: '2024-05-01T08:00:00Z' }).timestamp.toISOString(),
    ).toBe('2024-05-01T08:00:00.000Z');
  });

  it('corrects skew: receivedAt − (sentAt − originalTimestamp)', () => {
    // The device clock is 1 h fast: it says it sent at 13:00:05 what happened 5 s earlier on its clock.
    const event = valid('track', {
      userId: 'u1',
      event: 'x',
      originalTimestamp: '2024-05-01T13:00:00Z',
      sentAt: '2024-05-01T13:00:05Z',
    });
    expect(event.timestamp.toISOString()).toBe('2024-05-01T11:59:55.000Z');
    expect(event.originalTimestamp?.toISOString()).toBe('2024-05-01T13:00:00.000Z');
    expect(event.sentAt?.toISOString()).toBe('2024-05-01T13:00:05.000Z');
  });

  it('with sentAt, a caller timestamp counts as the original', () => {
    const event = valid('track', {
      userId: 'u1',
      event: 'x',
      timestamp: '2024-05-01T06:00:00Z',
      sentAt: '2024-05-01T06:01:00Z',
    });
    expect(event.timestamp.toISOString()).toBe('2024-05-01T11:59:00.000Z');
    expect(event.originalTimestamp?.toISOString()).toBe('2024-05-01T06:00:00.000Z');
  });

  it('with sentAt, originalTimestamp wins over timestamp', () => {
    const event = valid('track', {
      userId: 'u1',
      event: 'x',
      timestamp: '2024-05-01T00:00:00Z',
      originalTimestamp: '2024-05-01T06:00:00Z',
      sentAt: '2024-05-01T06:00:10Z',
    });
    expect(event.timestamp.toISOString()).toBe('2024-05-01T11:59:50.000Z');
  });

  it('with sentAt but no original uses receivedAt', () => {
    const event = valid('track', { userId: 'u1', event: 'x', sentAt: '2020-01-01T00:00:00Z' });
    expect(event.timestamp.getTime()).toBe(receivedAt.getTime());
  });

  it('correctedTimestamp is the same arithmetic on Dates', () => {
    expect(
      correctedTimestamp({
        originalTimestamp: new Date(1_000),
        sentAt: new Date(4_000),
        receivedAt: new Date(10_000),
      }).getTime(),
    ).toBe(7_000);
  });

  it('parseTimestamp explains what is wrong', () => {
    expect(parseTimestamp('2024-05-01T10:00:00')).toEqual({
      ok: false,
      reason: 'has no timezone (Z or ±hh:mm), so its instant is unknown',
    });
    expect(parseTimestamp('2024-02-29T00:00:00Z').ok).toBe(true);
  });
});

describe('validateEvent: size (§1 Size)', () => {
  it('refuses an event over 32 KB of JSON (UTF-8 bytes)', () => {
    const base = { userId: 'u1', event: 'x', properties: { blob: '' } };
    const overhead = Buffer.byteLength(JSON.stringify(base));
    const fits = { ...base, properties: { blob: 'a'.repeat(LIMITS.eventBytes - overhead) } };
    expect(validate('track', fits).ok).toBe(true);
    const over = { ...base, properties: { blob: 'a'.repeat(LIMITS.eventBytes - overhead + 1) } };
    expect(error('track', over)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', path: [] });
    // 3-byte characters: fewer than 32 K characters but more than 32 KB.
    const wide = { ...base, properties: { blob: '€'.repeat(11_000) } };
    expect(error('track', wide).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses an identify with 300 traits and accepts 299', () => {
    const traits = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, i]));
    expect(validate('identify', { userId: 'u1', traits: traits(299) }).ok).toBe(true);
    expect(error('identify', { userId: 'u1', traits: traits(300) })).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      path: ['traits'],
    });
    // The trait limit is identify's; a group's traits describe the account.
    expect(validate('group', { userId: 'u1', groupId: 'g', traits: traits(300) }).ok).toBe(true);
  });

  it('prefixes error paths with the given path', () => {
    expect(validate('track', { userId: 'u1' }, ['batch', 3])).toMatchObject({
      ok: false,
      error: { path: ['batch', 3, 'event'] },
    });
  });
});

describe('validateBatch (§1 Batches)', () => {
  const run = (input: unknown) => validateBatch(input, receivedAt, idGenerator());

  it('validates each item by its own type and reports every outcome in order', () => {
    const result = run({
      batch: [
        { type: 'identify', userId: 'u1', traits: { plan: 'pro' } },
        { type: 'track', userId: 'u1' },
        { type: 'page', anonymousId: 'a1', name: 'Home' },
        { type: 'Identify', userId: 'u1' },
        { userId: 'u1' },
        'not an object',
        { type: 'alias', userId: 'u2', previousId: 'u1' },
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.items.map((r) => (r.ok ? r.event.type : r.error.path))).toEqual([
      'identify',
      ['batch', 1, 'event'],
      'page',
      ['batch', 3, 'type'],
      ['batch', 4, 'type'],
      ['batch', 5],
      'alias',
    ]);
    expect(result.items[3]).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
  });

  it('names the offending field of an item by index', () => {
    const result = run({ batch: [{ type: 'identify', userId: 'u1' }, { type: 'identify' }] });
    expect(result).toMatchObject({
      ok: true,
      items: [
        { ok: true },
        { ok: false, error: { code: 'VALIDATION_FAILED', path: ['batch', 1, 'userId'] } },
      ],
    });
  });

  it('gives each item its own generated messageId', () => {
    const result = run({
      batch: [
        { type: 'identify', userId: 'u1' },
        { type: 'identify', userId: 'u2' },
      ],
    });
    if (!result.ok) throw new Error('expected ok');
    expect(result.items.map((r) => r.ok && r.event.messageId)).toEqual(['gen-1', 'gen-2']);
  });

  it('merges top-level context and integrations into each item, the item winning key by key', () => {
    const result = run({
      context: { library: { name: 'analytics-node' }, ip: '1.1.1.1' },
      integrations: { All: true, Mixpanel: false },
      batch: [
        { type: 'identify', userId: 'u1', context: { ip: '2.2.2.2' }, integrations: { Mixpanel: true } },
        { type: 'identify', userId: 'u2' },
      ],
    });
    if (!result.ok) throw new Error('expected ok');
    const [first, second] = result.items;
    expect(first).toMatchObject({
      ok: true,
      event: {
        context: { library: { name: 'analytics-node' }, ip: '2.2.2.2' },
        integrations: { All: true, Mixpanel: true },
      },
    });
    expect(second).toMatchObject({
      ok: true,
      event: { context: { library: { name: 'analytics-node' }, ip: '1.1.1.1' }, integrations: { All: true } },
    });
  });

  it('merges before validating: identifiers may come from the batch context', () => {
    const result = run({
      context: { traits: { email: 'a@b.c' } },
      batch: [{ type: 'track', userId: 'u1', event: 'x' }],
    });
    expect(result).toMatchObject({
      ok: true,
      items: [{ ok: true, event: { context: { traits: { email: 'a@b.c' } } } }],
    });
  });

  it('applies a batch-level sentAt to items without one (clock skew)', () => {
    const result = run({
      sentAt: '2024-05-01T13:00:05Z',
      batch: [{ type: 'track', userId: 'u1', event: 'x', timestamp: '2024-05-01T13:00:00Z' }],
    });
    if (!result.ok || !result.items[0]?.ok) throw new Error('expected ok');
    expect(result.items[0].event.timestamp.toISOString()).toBe('2024-05-01T11:59:55.000Z');
  });

  it('reports an item made too large by the merge at its index', () => {
    const result = run({
      context: { blob: 'x'.repeat(LIMITS.eventBytes) },
      batch: [{ type: 'identify', userId: 'u1' }],
    });
    expect(result).toMatchObject({
      ok: true,
      items: [{ ok: false, error: { code: 'PAYLOAD_TOO_LARGE', path: ['batch', 0] } }],
    });
  });

  it('refuses the whole batch when batch is missing or not an array', () => {
    expect(run({})).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', path: ['batch'] } });
    expect(run({ batch: { type: 'identify' } })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', path: ['batch'] },
    });
    expect(run('nope')).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', path: [] } });
  });

  it('refuses the whole batch for a top-level context or integrations that is not an object', () => {
    expect(run({ batch: [], context: 'x' })).toMatchObject({ ok: false, error: { path: ['context'] } });
    expect(run({ batch: [], integrations: [1] })).toMatchObject({
      ok: false,
      error: { path: ['integrations'] },
    });
  });

  // Changed on purpose (issue 10, cases 6 and 11): PHP's `[]` is `{}`; an unreadable batch sentAt is not
  // used and every item without its own carries the warning.
  it('reads a top-level [] as {} and warns each item of an unreadable top-level sentAt', () => {
    const out = run({
      batch: [
        { type: 'track', event: 'e', userId: 'u', context: [] },
        { type: 'track', event: 'e', userId: 'u', sentAt: '2024-05-01T12:00:00Z' },
      ],
      context: [],
      integrations: [],
      sentAt: '2024-05-01T10:00:00',
    });
    if (!out.ok) throw new Error('expected the batch to be accepted');
    const [first, second] = out.items;
    expect(first).toMatchObject({ ok: true, event: { context: {}, integrations: {} } });
    expect(first?.ok && first.event.warnings).toMatchObject([
      { code: 'TIMESTAMP_INVALID', path: ['sentAt'] },
    ]);
    expect(second?.ok && second.event.warnings).toEqual([]);
  });

  it('refuses more than 2,500 events and accepts exactly 2,500', () => {
    const item = { type: 'track', event: 'e', userId: 'u' };
    expect(run({ batch: Array.from({ length: LIMITS.batchEvents }, () => item) }).ok).toBe(true);
    expect(run({ batch: Array.from({ length: LIMITS.batchEvents + 1 }, () => item) })).toMatchObject({
      ok: false,
      error: { code: 'PAYLOAD_TOO_LARGE', path: ['batch'] },
    });
  });

  it('refuses a batch over 500 KB of JSON', () => {
    const item = { type: 'track', event: 'e', userId: 'u', properties: { blob: 'x'.repeat(20 * 1024) } };
    const batch = Array.from({ length: 26 }, () => item); // each item < 32 KB, together > 500 KB
    expect(run({ batch })).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE', path: [] } });
    expect(run({ batch: batch.slice(0, 24) }).ok).toBe(true);
  });

  it('an empty batch is valid and has no items', () => {
    expect(run({ batch: [] })).toEqual({ ok: true, items: [] });
  });
});

describe('mergeBatchDefaults', () => {
  it('is shallow: an item key replaces the batch key whole', () => {
    const merged = mergeBatchDefaults(
      { type: 'track', context: { device: { id: 'd2' } } },
      { context: { device: { id: 'd1', type: 'ios' }, locale: 'en' } },
    );
    expect(merged.context).toEqual({ device: { id: 'd2' }, locale: 'en' });
  });

  it('leaves a non-object item context for validation to report and does not mutate inputs', () => {
    const item = { type: 'track', context: 'bad' };
    const defaults = { context: { a: 1 } };
    expect(mergeBatchDefaults(item, defaults).context).toBe('bad');
    const other: Record<string, unknown> = { type: 'track' };
    mergeBatchDefaults(other, defaults);
    expect(other).toEqual({ type: 'track' });
  });
});
