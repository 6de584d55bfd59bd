import { describe, expect, it } from 'vitest';
import { CAPS, decide, type Decision, type ProfileSnapshot } from '../../src/identity/decide.ts';
import { identifierKey, type Identifier } from '../../src/identity/identifiers.ts';
import { defaultRules, type IdentifierRule } from '../../src/identity/rules.ts';

const eventTime = new Date('2024-06-01T00:00:00Z');
const daysAgo = (n: number) => new Date(eventTime.getTime() - n * 24 * 60 * 60 * 1000);

/** `'email:a@x.com'` → identifier. */
const id = (key: string): Identifier => {
  const colon = key.indexOf(':');
  return { type: key.slice(0, colon), value: key.slice(colon + 1) };
};

function profile(
  pid: string,
  keys: (string | [string, Date])[],
  opts: { createdAt?: Date; mergeCount?: number } = {},
): ProfileSnapshot {
  return {
    id: pid,
    createdAt: opts.createdAt ?? daysAgo(100),
    mergeCount: opts.mergeCount ?? 0,
    identifiers: keys.map((k) => {
      const [key, addedAt] = typeof k === 'string' ? [k, daysAgo(100)] : k;
      return { ...id(key), addedAt };
    }),
  };
}

function run(
  eventKeys: string[],
  profiles: ProfileSnapshot[] = [],
  rules: IdentifierRule[] = defaultRules(),
) {
  const ownerOf = new Map<string, string>();
  for (const p of profiles) for (const held of p.identifiers) ownerOf.set(identifierKey(held), p.id);
  return decide({ identifiers: eventKeys.map(id), profiles, ownerOf, rules, eventTime });
}

const keysOf = (ids: Identifier[]) => ids.map(identifierKey);
const demoted = (d: Decision) => d.violations.map((v) => [v.code, identifierKey(v.identifier)]);

function resolved(d: Decision) {
  if (d.kind !== 'resolve') throw new Error(`expected resolve, got ${JSON.stringify(d)}`);
  return d;
}
function created(d: Decision) {
  if (d.kind !== 'create') throw new Error(`expected create, got ${JSON.stringify(d)}`);
  return d;
}

describe('decide: step 1, blocked values', () => {
  it('refuses with NO_IDENTIFIERS when every identifier is blocked', () => {
    const d = run(['user_id:0', 'anonymous_id:anonymous']);
    expect(d).toMatchObject({ kind: 'refuse', code: 'NO_IDENTIFIERS' });
    expect(demoted(d)).toEqual([
      ['ID_VALUE_BLOCKED', 'user_id:0'],
      ['ID_VALUE_BLOCKED', 'anonymous_id:anonymous'],
    ]);
  });

  it('refuses an event with no identifiers at all', () => {
    expect(run([])).toEqual({ kind: 'refuse', code: 'NO_IDENTIFIERS', violations: [] });
  });

  it('drops blocked values and goes on with the rest', () => {
    const d = created(run(['user_id:null', 'anonymous_id:a1']));
    expect(keysOf(d.identifiers)).toEqual(['anonymous_id:a1']);
    expect(d.violations[0]).toMatchObject({
      code: 'ID_VALUE_BLOCKED',
      identifier: { type: 'user_id', value: 'null' },
    });
    expect(d.violations[0]?.message).toContain('blocked');
  });

  it("keeps 1,000 users sending userId '0' apart: each is refused, nothing is glued", () => {
    const d = run(['user_id:0']);
    expect(d.kind).toBe('refuse');
  });

  it('applies the default block list to types absent from the rules', () => {
    const d = run(['crm_id:undefined', 'crm_id:c1'], [], defaultRules());
    expect(keysOf(created(d).identifiers)).toEqual(['crm_id:c1']);
  });
});

describe('decide: step 2, create / attach / merge', () => {
  it('creates a profile when no profile holds any identifier', () => {
    const d = run(['user_id:u1', 'anonymous_id:a1', 'email:j@x.com']);
    expect(d).toEqual({
      kind: 'create',
      identifiers: [id('user_id:u1'), id('anonymous_id:a1'), id('email:j@x.com')],
      violations: [],
    });
  });

  it('attaches to the one profile holding an identifier, adding only new identifiers', () => {
    const d = resolved(run(['user_id:u1', 'email:j@x.com'], [profile('P1', ['user_id:u1'])]));
    expect(d).toEqual({
      kind: 'resolve',
      survivorId: 'P1',
      mergedIds: [],
      addIdentifiers: [id('email:j@x.com')],
      kept: [id('user_id:u1'), id('email:j@x.com')],
      violations: [],
    });
  });

  it('merges an anonymous profile into the identified one; the oldest survives', () => {
    const known = profile('P-new', ['user_id:u1'], { createdAt: daysAgo(1) });
    const anon = profile('P-old', ['anonymous_id:a1'], { createdAt: daysAgo(9) });
    const d = resolved(run(['user_id:u1', 'anonymous_id:a1'], [known, anon]));
    expect(d.survivorId).toBe('P-old');
    expect(d.mergedIds).toEqual(['P-new']);
    expect(d.addIdentifiers).toEqual([]);
    expect(d.violations).toEqual([]);
  });

  it('breaks a creation-time tie by id', () => {
    const at = daysAgo(5);
    const d = resolved(
      run(
        ['anonymous_id:a1', 'anonymous_id:a2', 'anonymous_id:a3'],
        [
          profile('P-b', ['anonymous_id:a1'], { createdAt: at }),
          profile('P-c', ['anonymous_id:a2'], { createdAt: at }),
          profile('P-a', ['anonymous_id:a3'], { createdAt: at }),
        ],
      ),
    );
    expect(d.survivorId).toBe('P-a');
    expect(d.mergedIds).toEqual(['P-b', 'P-c']);
  });

  it('ignores snapshots of profiles that own none of the identifiers', () => {
    const d = resolved(run(['user_id:u1'], [profile('P1', ['user_id:u1']), profile('P2', ['user_id:u2'])]));
    expect(d.mergedIds).toEqual([]);
  });

  it('fails loudly when an owner has no snapshot (a caller bug)', () => {
    expect(() =>
      decide({
        identifiers: [id('user_id:u1')],
        profiles: [],
        ownerOf: new Map([['user_id:u1', 'P1']]),
        rules: defaultRules(),
        eventTime,
      }),
    ).toThrow(/P1/);
  });
});

describe('decide: demotion (§4 consequences)', () => {
  it('abc456 with jane@x.com (held by abc123): new profile for abc456, the email stays with abc123', () => {
    const jane = profile('P123', ['user_id:abc123', 'email:jane@x.com']);
    const d = created(run(['user_id:abc456', 'email:jane@x.com'], [jane]));
    expect(keysOf(d.identifiers)).toEqual(['user_id:abc456']);
    expect(d.violations).toEqual([
      {
        code: 'LIMIT_EXCEEDED',
        message: expect.stringContaining('limit 1') as unknown as string,
        identifier: id('email:jane@x.com'),
        rule: { type: 'user_id', limit: 1, window: 'EVER' },
      },
    ]);
  });

  it('abc456 already has a profile: it resolves there, the email is demoted', () => {
    const jane = profile('P123', ['user_id:abc123', 'email:jane@x.com'], { createdAt: daysAgo(50) });
    const other = profile('P456', ['user_id:abc456'], { createdAt: daysAgo(60) });
    const d = resolved(run(['user_id:abc456', 'email:jane@x.com'], [jane, other]));
    expect(d).toMatchObject({
      survivorId: 'P456',
      mergedIds: [],
      addIdentifiers: [],
      kept: [id('user_id:abc456')],
    });
    expect(demoted(d)).toEqual([['LIMIT_EXCEEDED', 'email:jane@x.com']]);
  });

  it('demotes a shared anonymous id instead of gluing two user_ids together', () => {
    const first = profile('P1', ['user_id:alice', 'anonymous_id:laptop']);
    const d = created(run(['user_id:bob', 'anonymous_id:laptop'], [first]));
    expect(keysOf(d.identifiers)).toEqual(['user_id:bob']);
    expect(d.violations).toMatchObject([
      { code: 'LIMIT_EXCEEDED', identifier: id('anonymous_id:laptop'), rule: { type: 'user_id', limit: 1 } },
    ]);
  });

  it('demotes only identifiers implicated in the breach (a new anonymous id is kept)', () => {
    const jane = profile('P123', ['user_id:abc123', 'email:jane@x.com']);
    const d = created(run(['user_id:abc456', 'anonymous_id:new-device', 'email:jane@x.com'], [jane]));
    expect(keysOf(d.identifiers)).toEqual(['user_id:abc456', 'anonymous_id:new-device']);
    expect(demoted(d)).toEqual([['LIMIT_EXCEEDED', 'email:jane@x.com']]);
  });

  it('does not demote a second link to a profile that stays involved anyway', () => {
    const bob = profile('PB', ['user_id:bob', 'anonymous_id:phone'], { createdAt: daysAgo(10) });
    const alice = profile('PA', ['user_id:alice', 'email:team@x.com'], { createdAt: daysAgo(20) });
    const d = resolved(run(['user_id:bob', 'anonymous_id:phone', 'email:team@x.com'], [bob, alice]));
    expect(d.survivorId).toBe('PB');
    expect(keysOf(d.kept)).toEqual(['user_id:bob', 'anonymous_id:phone']);
    expect(demoted(d)).toEqual([['LIMIT_EXCEEDED', 'email:team@x.com']]);
  });

  it('demotes a sixth email on a profile with five, and still attaches the event', () => {
    const emails = ['a', 'b', 'c', 'd', 'e'].map((x) => `email:${x}@x.com`);
    const p = profile('P1', ['user_id:u1', ...emails]);
    const d = resolved(run(['user_id:u1', 'email:f@x.com'], [p]));
    expect(d).toMatchObject({ survivorId: 'P1', addIdentifiers: [], kept: [id('user_id:u1')] });
    expect(d.violations).toMatchObject([
      {
        code: 'LIMIT_EXCEEDED',
        identifier: id('email:f@x.com'),
        rule: { type: 'email', limit: 5, window: 'EVER' },
      },
    ]);
  });

  it('demotes in priority order, the later identifier first on a tie', () => {
    // Two new user_ids in one event: same priority, so the later one goes.
    const d = created(run(['user_id:u1', 'user_id:u2']));
    expect(keysOf(d.identifiers)).toEqual(['user_id:u1']);
    expect(demoted(d)).toEqual([['LIMIT_EXCEEDED', 'user_id:u2']]);
  });

  it('checks limits on creation too (six new emails in one event)', () => {
    const emails = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `email:${x}@x.com`);
    const d = created(run(['anonymous_id:a1', ...emails]));
    expect(d.identifiers).toHaveLength(6);
    expect(demoted(d)).toEqual([['LIMIT_EXCEEDED', 'email:f@x.com']]);
  });

  it('keeps resolving to a profile that is already over a limit (rules tightened later)', () => {
    const p = profile('P1', ['user_id:u1', 'user_id:u2', 'email:a@x.com']);
    const d = resolved(run(['user_id:u1', 'user_id:u2', 'email:a@x.com'], [p]));
    expect(d).toMatchObject({ survivorId: 'P1', addIdentifiers: [], violations: [] });
    expect(d.kept).toHaveLength(3);
  });

  it('never blocks an event that only brings an identifier the profile holds', () => {
    const p = profile('P1', ['user_id:u1', 'user_id:u2', 'user_id:u3']);
    expect(resolved(run(['user_id:u3'], [p])).violations).toEqual([]);
  });

  it('does not let an over-limit profile absorb more values of that type', () => {
    const p = profile('P1', ['user_id:u1', 'user_id:u2']);
    const d = resolved(run(['user_id:u1', 'user_id:u3'], [p]));
    expect(d.addIdentifiers).toEqual([]);
    expect(demoted(d)).toEqual([['LIMIT_EXCEEDED', 'user_id:u3']]);
  });

  it('judges a type absent from the rules with limit 5, ranked after known types', () => {
    const rules = defaultRules().filter((r) => r.type === 'user_id' || r.type === 'email');
    const held = ['1', '2', '3', '4', '5'].map((n): [string, Date] => [`crm_id:c${n}`, daysAgo(3)]);
    const d = resolved(
      run(['user_id:u1', 'email:j@x.com', 'crm_id:c6'], [profile('P1', ['user_id:u1', ...held])], rules),
    );
    expect(d.addIdentifiers).toEqual([id('email:j@x.com')]);
    expect(d.violations).toMatchObject([
      {
        code: 'LIMIT_EXCEEDED',
        identifier: id('crm_id:c6'),
        rule: { type: 'crm_id', limit: 5, window: 'EVER' },
      },
    ]);
  });
});

describe('decide: windowed limits (§3)', () => {
  const weekly = defaultRules().map((r) =>
    r.type === 'email' ? { ...r, limit: 2, window: 'WEEK' as const } : r,
  );
  const daily = defaultRules().map((r) =>
    r.type === 'email' ? { ...r, limit: 1, window: 'DAY' as const } : r,
  );

  it('counts only values added within the window', () => {
    const p = profile('P1', [
      'user_id:u1',
      ['email:old1@x.com', daysAgo(30)],
      ['email:old2@x.com', daysAgo(8)],
      ['email:recent@x.com', daysAgo(2)],
    ]);
    const d = resolved(run(['user_id:u1', 'email:new@x.com'], [p], weekly));
    expect(d).toMatchObject({ addIdentifiers: [id('email:new@x.com')], violations: [] });
  });

  it('refuses a value beyond the windowed limit', () => {
    const p = profile('P1', ['user_id:u1', ['email:r1@x.com', daysAgo(1)], ['email:r2@x.com', daysAgo(6)]]);
    const d = resolved(run(['user_id:u1', 'email:new@x.com'], [p], weekly));
    expect(d.addIdentifiers).toEqual([]);
    expect(d.violations).toMatchObject([
      {
        code: 'LIMIT_EXCEEDED',
        identifier: id('email:new@x.com'),
        rule: { type: 'email', limit: 2, window: 'WEEK' },
      },
    ]);
    expect(d.violations[0]?.message).toContain('per week');
  });

  // §3, §8: a stretch long past that is over a tightened limit does not exempt the profile elsewhere.
  it('judges each stretch on its own: an old over-limit stretch exempts nothing now', () => {
    const p = profile('P1', [
      'user_id:u1',
      ['email:a@x.com', daysAgo(10)],
      ['email:b@x.com', daysAgo(10)],
      ['email:c@x.com', daysAgo(0)],
    ]);
    const d = resolved(run(['user_id:u1', 'email:d@x.com'], [p], daily));
    expect(d.addIdentifiers).toEqual([]);
    expect(d.violations).toMatchObject([{ code: 'LIMIT_EXCEEDED', identifier: id('email:d@x.com') }]);
    // The profile still resolves, and a value in a quiet stretch is added.
    const quiet = profile('P1', [
      'user_id:u1',
      ['email:a@x.com', daysAgo(10)],
      ['email:b@x.com', daysAgo(10)],
    ]);
    expect(resolved(run(['user_id:u1', 'email:d@x.com'], [quiet], daily)).violations).toEqual([]);
  });

  it('counts values added later in event time than the event (they arrived first)', () => {
    const p = profile('P1', ['user_id:u1', ['email:r1@x.com', new Date(eventTime.getTime() + 3_600_000)]]);
    expect(resolved(run(['user_id:u1', 'email:new@x.com'], [p], daily)).violations).toMatchObject([
      { code: 'LIMIT_EXCEEDED' },
    ]);
  });
});

describe('decide: system caps (§4)', () => {
  it('refuses a merge that would take the survivor past 100 merges, and still resolves', () => {
    const big = profile('P-big', ['user_id:u1'], { createdAt: daysAgo(50), mergeCount: 99 });
    const small = profile('P-small', ['anonymous_id:a1', 'anonymous_id:a0'], {
      createdAt: daysAgo(10),
      mergeCount: 1,
    });
    const d = resolved(run(['user_id:u1', 'anonymous_id:a1'], [big, small]));
    expect(d).toMatchObject({ survivorId: 'P-big', mergedIds: [], kept: [id('user_id:u1')] });
    expect(d.violations).toMatchObject([{ code: 'MERGE_CAP_REACHED', identifier: id('anonymous_id:a1') }]);
    expect(d.violations[0]?.rule).toBeUndefined();
  });

  it('allows a merge that reaches exactly 100', () => {
    const big = profile('P-big', ['user_id:u1'], { createdAt: daysAgo(50), mergeCount: 98 });
    const small = profile('P-small', ['anonymous_id:a1'], { createdAt: daysAgo(10), mergeCount: 1 });
    expect(resolved(run(['user_id:u1', 'anonymous_id:a1'], [big, small])).mergedIds).toEqual(['P-small']);
  });

  it('counts the younger profile as the one merged away even when it has more merges', () => {
    const old = profile('P-old', ['anonymous_id:a1'], { createdAt: daysAgo(50), mergeCount: 0 });
    const busy = profile('P-busy', ['user_id:u1'], { createdAt: daysAgo(10), mergeCount: 100 });
    // 0 + (100 + 1) = 101 > 100
    expect(run(['user_id:u1', 'anonymous_id:a1'], [old, busy]).violations[0]?.code).toBe('MERGE_CAP_REACHED');
  });

  const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `crm_id:${prefix}${i}`);
  const unlimited = defaultRules().concat({
    type: 'crm_id',
    priority: 99,
    limit: 100_000,
    window: 'EVER',
    blockedValues: [],
  });

  it('refuses identifiers beyond 1,000 on a profile, and still resolves to it', () => {
    const full = profile('P1', ['user_id:u1', ...many('c', CAPS.identifiersPerProfile - 1)]);
    const d = resolved(run(['user_id:u1', 'crm_id:new'], [full], unlimited));
    expect(d).toMatchObject({ survivorId: 'P1', addIdentifiers: [], kept: [id('user_id:u1')] });
    expect(demoted(d)).toEqual([['IDENTIFIER_CAP_REACHED', 'crm_id:new']]);
  });

  it('refuses a merge whose union would exceed 1,000 identifiers', () => {
    const a = profile('PA', ['user_id:u1', ...many('a', 600)], { createdAt: daysAgo(5) });
    const b = profile('PB', ['anonymous_id:x', ...many('b', 600)], { createdAt: daysAgo(4) });
    const d = resolved(run(['user_id:u1', 'anonymous_id:x'], [a, b], unlimited));
    expect(d).toMatchObject({ survivorId: 'PA', mergedIds: [] });
    expect(demoted(d)).toEqual([['IDENTIFIER_CAP_REACHED', 'anonymous_id:x']]);
  });

  it('keeps resolving to a profile already over the identifier cap', () => {
    const over = profile('P1', ['user_id:u1', ...many('c', CAPS.identifiersPerProfile + 5)]);
    expect(resolved(run(['user_id:u1', 'crm_id:c3'], [over], unlimited)).violations).toEqual([]);
  });
});

describe('decide: termination', () => {
  it('always keeps at least one identifier, even against a pathological rule set', () => {
    const zero = defaultRules().map((r) => ({ ...r, limit: 0 }));
    // A limit below 1 is read as 1, so a single value is always acceptable.
    expect(keysOf(created(run(['user_id:u1', 'email:a@x.com'], [], zero)).identifiers)).toEqual([
      'user_id:u1',
      'email:a@x.com',
    ]);
    expect(keysOf(created(run(['user_id:u1', 'user_id:u2'], [], zero)).identifiers)).toEqual(['user_id:u1']);
  });

  it('ends with one identifier when every profile is a conflicting user', () => {
    const profiles = ['a', 'b', 'c'].map((x, i) =>
      profile(`P${x}`, [`user_id:${x}`, `email:${x}@x.com`], { createdAt: daysAgo(i + 1) }),
    );
    const d = resolved(run(['user_id:a', 'email:b@x.com', 'email:c@x.com'], profiles));
    expect(d).toMatchObject({ survivorId: 'Pa', mergedIds: [], kept: [id('user_id:a')] });
    expect(demoted(d)).toEqual([
      ['LIMIT_EXCEEDED', 'email:c@x.com'],
      ['LIMIT_EXCEEDED', 'email:b@x.com'],
    ]);
  });
});
