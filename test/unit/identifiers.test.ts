import { describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../src/ingest/event.ts';
import { LosslessNumber } from '../../src/json.ts';
import {
  extractIdentifiers,
  identifierKey,
  identifierProblem,
  normaliseIdentifier,
  parseIdentifierKey,
} from '../../src/identity/identifiers.ts';

const at = new Date('2024-05-01T12:00:00Z');

function event(fields: Partial<ValidEvent>): ValidEvent {
  return {
    type: 'track',
    messageId: 'm1',
    event: 'x',
    context: {},
    integrations: {},
    timestamp: at,
    receivedAt: at,
    warnings: [],
    ...fields,
  };
}

const keys = (e: ValidEvent) => extractIdentifiers(e).map(identifierKey);

describe('normaliseIdentifier (§2 Normalisation)', () => {
  it('trims values and lowercases only emails', () => {
    expect(normaliseIdentifier('email', '  Jane@X.com ')).toEqual({ type: 'email', value: 'jane@x.com' });
    expect(normaliseIdentifier('user_id', ' AbC ')).toEqual({ type: 'user_id', value: 'AbC' });
  });

  it('trims and lowercases the type', () => {
    expect(normaliseIdentifier(' Email ', 'A@B.C')).toEqual({ type: 'email', value: 'a@b.c' });
    expect(normaliseIdentifier('HubSpot_ID', 'X1')).toEqual({ type: 'hubspot_id', value: 'X1' });
  });

  it('returns null for blank values or unusable types', () => {
    expect(normaliseIdentifier('email', '   ')).toBeNull();
    expect(normaliseIdentifier('', 'x')).toBeNull();
    expect(normaliseIdentifier('phone number', 'x')).toBeNull();
    expect(normaliseIdentifier('a:b', 'x')).toBeNull();
  });
});

describe('identifierKey / parseIdentifierKey', () => {
  it('round-trips and normalises, so email:Jane@X.com finds jane@x.com', () => {
    expect(identifierKey({ type: 'email', value: 'jane@x.com' })).toBe('email:jane@x.com');
    expect(parseIdentifierKey('email:Jane@X.com')).toEqual({ type: 'email', value: 'jane@x.com' });
    expect(parseIdentifierKey('USER_ID: abc ')).toEqual({ type: 'user_id', value: 'abc' });
  });

  it('splits at the first colon only', () => {
    expect(parseIdentifierKey('crm_id:a:b:c')).toEqual({ type: 'crm_id', value: 'a:b:c' });
  });

  it('refuses keys without a type or value', () => {
    expect(parseIdentifierKey('nocolon')).toBeNull();
    expect(parseIdentifierKey(':value')).toBeNull();
    expect(parseIdentifierKey('email:')).toBeNull();
  });
});

describe('extractIdentifiers (§2 sources)', () => {
  it('takes user_id and anonymous_id, user_id first', () => {
    expect(keys(event({ anonymousId: 'a1', userId: 'u1' }))).toEqual(['user_id:u1', 'anonymous_id:a1']);
  });

  it('takes email from traits, context.traits and properties, lowercased, deduplicated', () => {
    expect(
      keys(
        event({
          type: 'identify',
          userId: 'u1',
          traits: { email: ' Jane@X.com ' },
          context: { traits: { email: 'jane@x.com' } },
          properties: { email: 'OTHER@x.com' },
        }),
      ),
    ).toEqual(['user_id:u1', 'email:jane@x.com', 'email:other@x.com']);
    expect(keys(event({ userId: 'u1', context: { traits: { email: 'c@x.com' } } }))).toEqual([
      'user_id:u1',
      'email:c@x.com',
    ]);
    expect(keys(event({ userId: 'u1', properties: { email: 'p@x.com' } }))).toEqual([
      'user_id:u1',
      'email:p@x.com',
    ]);
  });

  it('ignores non-string emails', () => {
    expect(keys(event({ userId: 'u1', traits: { email: 42 }, properties: { email: ['a@b.c'] } }))).toEqual([
      'user_id:u1',
    ]);
  });

  it("does not take a group call's traits.email (the account's, §5)", () => {
    expect(
      keys(event({ type: 'group', userId: 'u1', groupId: 'g1', traits: { email: 'billing@acme.com' } })),
    ).toEqual(['user_id:u1']);
  });

  it('never includes group_id', () => {
    expect(keys(event({ type: 'group', anonymousId: 'a1', groupId: 'g1' }))).toEqual(['anonymous_id:a1']);
  });

  it.each([
    ['ios', 'ios'],
    ['iOS', 'ios'],
    ['Android', 'android'],
  ])('takes device id and push token by device type %s', (deviceType, prefix) => {
    expect(
      keys(event({ userId: 'u1', context: { device: { type: deviceType, id: 'D1', token: 'T1' } } })),
    ).toEqual(['user_id:u1', `${prefix}.id:D1`, `${prefix}.push_token:T1`]);
  });

  it('ignores device identifiers of other or missing device types', () => {
    expect(
      keys(event({ userId: 'u1', context: { device: { type: 'web', id: 'D1', token: 'T1' } } })),
    ).toEqual(['user_id:u1']);
    expect(keys(event({ userId: 'u1', context: { device: { id: 'D1' } } }))).toEqual(['user_id:u1']);
  });

  it('takes the advertising id only when adTrackingEnabled is exactly true', () => {
    const withTracking = (adTrackingEnabled: unknown) =>
      keys(
        event({
          userId: 'u1',
          context: { device: { type: 'ios', advertisingId: 'AD1', adTrackingEnabled } },
        }),
      );
    expect(withTracking(true)).toEqual(['user_id:u1', 'ios.idfa:AD1']);
    expect(withTracking(false)).toEqual(['user_id:u1']);
    expect(withTracking('true')).toEqual(['user_id:u1']);
    expect(withTracking(undefined)).toEqual(['user_id:u1']);
    expect(
      keys(
        event({
          userId: 'u1',
          context: { device: { type: 'android', advertisingId: 'AD2', adTrackingEnabled: true } },
        }),
      ),
    ).toEqual(['user_id:u1', 'android.idfa:AD2']);
  });

  it("takes ga_client_id from context.integrations['Google Analytics'].clientId", () => {
    expect(
      keys(
        event({ anonymousId: 'a1', context: { integrations: { 'Google Analytics': { clientId: 'GA.1' } } } }),
      ),
    ).toEqual(['anonymous_id:a1', 'ga_client_id:GA.1']);
    // Not from the top-level integrations object.
    expect(
      keys(event({ anonymousId: 'a1', integrations: { 'Google Analytics': { clientId: 'GA.1' } } })),
    ).toEqual(['anonymous_id:a1']);
  });

  it('takes custom types from context.externalIds with collection users (or none), type lowercased', () => {
    const externalIds = [
      { id: 'H-1', type: 'HubSpot_Id', collection: 'users', encoding: 'none' },
      { id: 77, type: 'crm_id', encoding: 'none' },
      { id: 'ACC-1', type: 'salesforce_account', collection: 'accounts', encoding: 'none' },
      { id: 'Mixed@Case.com', type: 'email', collection: 'users', encoding: 'none' },
      { id: { nested: true }, type: 'bad_value', collection: 'users' },
      { id: 'x', collection: 'users' },
      'garbage',
    ];
    expect(keys(event({ userId: 'u1', context: { externalIds } }))).toEqual([
      'user_id:u1',
      'hubspot_id:H-1',
      'crm_id:77',
      'email:mixed@case.com',
    ]);
  });

  it('converts numeric values to strings and ignores other non-strings', () => {
    expect(keys(event({ userId: 'u1', context: { device: { type: 'ios', id: 123, token: true } } }))).toEqual(
      ['user_id:u1', 'ios.id:123'],
    );
  });

  it('deduplicates by key and keeps user_id and anonymous_id in front', () => {
    const ids = extractIdentifiers(
      event({
        anonymousId: 'a1',
        traits: { email: 'j@x.com' },
        context: {
          externalIds: [
            { id: 'j@x.com', type: 'email', collection: 'users' },
            { id: 'u9', type: 'user_id', collection: 'users' },
            { id: 'a1', type: 'anonymous_id' },
          ],
        },
      }),
    );
    expect(ids.map(identifierKey)).toEqual(['user_id:u9', 'anonymous_id:a1', 'email:j@x.com']);
  });

  it('alias yields only user_id (previousId is handled by the service)', () => {
    expect(
      keys(
        event({
          type: 'alias',
          userId: 'u2',
          previousId: 'u1',
          anonymousId: 'a1',
          context: { traits: { email: 'j@x.com' } },
        }),
      ),
    ).toEqual(['user_id:u2']);
  });

  // Issue 10, case 13: an alias with anonymousId and no userId is recorded under that one identifier.
  it('alias without userId yields its anonymous_id alone', () => {
    expect(keys(event({ type: 'alias', previousId: 'p1', anonymousId: 'a1' }))).toEqual(['anonymous_id:a1']);
  });

  it('yields nothing for an event without identifiers', () => {
    expect(extractIdentifiers(event({}))).toEqual([]);
  });
});

// Issue 10, case 8: one address written two ways is one identifier (§8).
describe('email normalisation (§8)', () => {
  it.each([
    ['zero-width space', 'jane\u200b@x.com'],
    ['BOM', '\ufeffjane@x.com'],
    ['soft hyphen', 'ja\u00adne@x.com'],
    ['zero-width joiner', 'jane@x\u200d.com'],
  ])('removes a %s', (_, written) => {
    expect(normaliseIdentifier('email', written)).toEqual({ type: 'email', value: 'jane@x.com' });
  });

  it('applies NFC, so a decomposed accent equals the composed one', () => {
    const composed = 'ren\u00e9@x.com';
    const nfd = composed.normalize('NFD');
    expect(nfd).not.toBe(composed);
    expect(normaliseIdentifier('email', nfd)).toEqual(normaliseIdentifier('email', composed));
    // Lookups normalise the same way.
    expect(parseIdentifierKey(`email:${nfd.toUpperCase()}`)).toEqual({ type: 'email', value: composed });
  });

  it('leaves other types as written (NFC and invisibles only for emails)', () => {
    expect(normaliseIdentifier('user_id', 'a\u200bb')?.value).toBe('a\u200bb');
  });

  it('treats an email of invisible characters only as blank', () => {
    expect(normaliseIdentifier('email', '\u200b\ufeff')).toBeNull();
  });
});

// Issue 10, cases 1 and 2: identifier values must be exact and fit the database's index (§8).
describe('identifierProblem (§8 sizes and numbers)', () => {
  it('accepts ordinary events', () => {
    expect(identifierProblem(event({ userId: 'u1', traits: { email: 'j@x.com' } }))).toBeNull();
    expect(identifierProblem(event({ context: { device: { type: 'ios', id: 123 } } }))).toBeNull();
  });

  it.each([
    ['traits.email', { traits: { email: `${'a'.repeat(1100)}@x.com` } }, ['traits', 'email']],
    [
      'context.traits.email',
      { context: { traits: { email: 'é'.repeat(600) } } },
      ['context', 'traits', 'email'],
    ],
    ['properties.email', { properties: { email: 'x'.repeat(1025) } }, ['properties', 'email']],
    [
      'externalIds[].id',
      {
        context: {
          externalIds: [
            { id: 'ok', type: 'a' },
            { id: 'x'.repeat(2000), type: 'crm_id' },
          ],
        },
      },
      ['context', 'externalIds', 1, 'id'],
    ],
    [
      'externalIds[].type',
      { context: { externalIds: [{ id: 'ok', type: 't'.repeat(65) }] } },
      ['context', 'externalIds', 0, 'type'],
    ],
    [
      'device.id',
      { context: { device: { type: 'ios', id: 'd'.repeat(1025) } } },
      ['context', 'device', 'id'],
    ],
  ] as const)('refuses an over-long %s at its path', (_, fields, path) => {
    const problem = identifierProblem(event(fields as Partial<ValidEvent>));
    expect(problem?.path).toEqual(path);
  });

  it('takes exactly 1,024 bytes', () => {
    expect(identifierProblem(event({ traits: { email: 'a'.repeat(1024) } }))).toBeNull();
  });

  it.each([
    ['a rounded double', 6416965886464272000],
    ['a number kept exact by the parser', new LosslessNumber('6416965886464272042')],
    ['a fraction', 1.5],
  ])('refuses %s as an externalIds id', (_, id) => {
    const problem = identifierProblem(event({ context: { externalIds: [{ id, type: 'crm_id' }] } }));
    expect(problem?.path).toEqual(['context', 'externalIds', 0, 'id']);
    expect(problem?.message).toMatch(/string/);
  });
});
