// Issue 10 (SEMANTICS.md §8): payloads real clients send, through the tracking API and GraphQL of the real
// service, read back over GraphQL and the Profile API. Each case failed on aada134.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIRRORED_TRAIT_KEYS_CAP } from '../../src/identity/identity.service.ts';
import type { Service } from '../../src/service.ts';
import { openTestGraph } from '../support/graph.ts';
import { startTestService } from '../support/service.ts';

const run = randomUUID().slice(0, 8);
const space = `hyg-${run}`;
let service: Service;
const keys = { write: '', admin: '' };

beforeAll(async () => {
  service = await startTestService();
  const spaces = service.services.spaces;
  await spaces.createSpace(space);
  keys.write = (await spaces.createKey(space, 'write')).secret;
  keys.admin = (await spaces.createKey(space, 'token', { scopes: ['write', 'admin'] })).secret;
});
afterAll(async () => {
  await service?.stop();
});

// Answers are read as loose JSON: each assertion states the shape it expects.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/** Posts raw JSON text (so that numbers keep the digits written) and returns the status and body. */
async function post(path: string, body: unknown) {
  const res = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(keys.write) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, Json> };
}

async function gqlText(query: string, variables: unknown) {
  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.admin}` },
    body:
      typeof variables === 'string'
        ? `{"query":${JSON.stringify(query)},"variables":${variables}}`
        : JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as { data?: Json; errors?: Json[] } };
}

async function gql(query: string, variables: unknown) {
  const { body } = await gqlText(query, variables);
  expect(body.errors).toBeUndefined();
  return body.data;
}

const PROFILE = `query ($by: IdentifierInput!) {
  profile(by: $by) {
    id identifiers { type value } traits accounts { groupId }
    events(first: 50, order: OLDEST_FIRST) { nodes { messageId timestamp properties warnings { code message path } } }
  }
}`;

async function profile(type: string, value: string) {
  return (await gql(PROFILE, { by: { type, value } })).profile as {
    id: string;
    identifiers: { type: string; value: string }[];
    traits: Record<string, unknown>;
    accounts: { groupId: string }[];
    events: {
      nodes: {
        messageId: string;
        timestamp: string;
        properties: unknown;
        warnings: { code: string; path: unknown[] }[];
      }[];
    };
  } | null;
}

const u = (name: string) => `${name}-${run}`;

describe('case 1: 64-bit numbers as ids', () => {
  it('refuses an id a double would round, at its path, and merges nobody', async () => {
    for (const [field, extra] of [
      ['userId', ''],
      ['anonymousId', ''],
      ['groupId', `, "userId": "${u('g1')}"`],
    ] as const) {
      const type = field === 'groupId' ? 'group' : 'identify';
      const a = await post(
        `/v1/${type}`,
        `{"${field}": 6416965886464272042${extra}, "traits": {"name": "A"}}`,
      );
      expect(a.status).toBe(400);
      expect(a.body.error).toMatchObject({ code: 'VALIDATION_FAILED', path: [field] });
      expect(a.body.error.message).toContain('6416965886464272042');
    }
    const ext = await post(
      '/v1/identify',
      `{"userId": "${u('ext')}", "context": {"externalIds": [{"id": 6416965886464272041, "type": "crm_id", "collection": "users", "encoding": "none"}]}}`,
    );
    expect(ext.status).toBe(400);
    expect(ext.body.error).toMatchObject({ path: ['context', 'externalIds', 0, 'id'] });
    expect(await profile('user_id', '6416965886464272000')).toBeNull();
  });

  it('makes 6866729 and "6866729" one user', async () => {
    const n = 6_000_000 + Math.floor(Math.random() * 999_999);
    expect((await post('/v1/identify', `{"userId": ${n}, "traits": {"a": 1}}`)).status).toBe(200);
    expect((await post('/v1/identify', { userId: String(n), traits: { b: 2 } })).status).toBe(200);
    const p = await profile('user_id', String(n));
    expect(p?.traits).toMatchObject({ a: 1, b: 2 });
  });

  it('keeps large integers in properties and traits digit for digit, in storage and in answers', async () => {
    const user = u('digits');
    const sent = await post(
      '/v1/track',
      `{"userId": "${user}", "event": "Ordered", "properties": {"orderId": 6416965886464272042, "total": 12.5}}`,
    );
    expect(sent.status).toBe(200);
    await post('/v1/identify', `{"userId": "${user}", "traits": {"crmNumber": 98765432109876543210}}`);
    const { text } = await gqlText(PROFILE, { by: { type: 'user_id', value: user } });
    expect(text).toContain('"orderId":6416965886464272042');
    expect(text).toContain('"crmNumber":98765432109876543210');
    const api = await fetch(
      `${service.url}/v1/spaces/${space}/collections/users/profiles/user_id:${user}/traits`,
      {
        headers: { authorization: basic(keys.admin) },
      },
    );
    expect(await api.text()).toContain('"crmNumber":98765432109876543210');
  });

  it('takes numeric ids and [] maps over GraphQL as over HTTP', async () => {
    const n = 7_000_000 + Math.floor(Math.random() * 999_999);
    const IDENTIFY = `mutation ($input: IdentifyInput!) { identify(input: $input) { ok error { code path } } }`;
    const ok = await gql(IDENTIFY, { input: { userId: n, traits: [], context: [] } });
    expect(ok.identify).toEqual({ ok: true, error: null });
    const big = await gqlText(IDENTIFY, '{"input": {"userId": 6416965886464272042}}');
    expect(big.body.data.identify).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', path: ['userId'] },
    });
    const literal = await gql(`mutation { identify(input: {userId: ${n}, traits: []}) { ok } }`, {});
    expect(literal.identify.ok).toBe(true);
  });
});

describe('GraphQL takes what HTTP takes', () => {
  it('alias with anonymousId, numeric and odd-time fields in a batch: items judged alone', async () => {
    const ALIAS = `mutation ($input: AliasInput!) { alias(input: $input) { ok error { code } } }`;
    expect(
      (await gql(ALIAS, { input: { anonymousId: u('gql-anon'), previousId: u('gql-prev') } })).alias,
    ).toEqual({
      ok: true,
      error: null,
    });
    const BATCH = `mutation ($input: BatchInput!) {
      batch(input: $input) { applied refused results { ok error { code path } warnings { code path } } }
    }`;
    const data = await gqlText(
      BATCH,
      `{"input": {"sentAt": 17, "batch": [
        {"type": "track", "event": "E", "anonymousId": ${7_100_000 + Math.floor(Math.random() * 99_999)}, "originalTimestamp": 1714564800000},
        {"type": "group", "userId": "${u('gql-g')}", "groupId": 6416965886464272042},
        {"type": "alias", "anonymousId": "${u('gql-a2')}", "previousId": 42}
      ]}}`,
    );
    expect(data.body.errors).toBeUndefined();
    expect(data.body.data.batch).toMatchObject({ applied: 2, refused: 1 });
    expect(data.body.data.batch.results[0].warnings.map((w: Json) => w.path)).toEqual([
      ['sentAt'],
      ['batch', 0, 'originalTimestamp'],
    ]);
    expect(data.body.data.batch.results[1].error).toEqual({
      code: 'VALIDATION_FAILED',
      path: ['batch', 1, 'groupId'],
    });
  });
});

describe('odd numbers and strings', () => {
  it('refuses a fraction written with an exponent, and keeps a long fraction exactly', async () => {
    const res = await post('/v1/identify', '{"userId": 1000000.00000000001e9}');
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', path: ['userId'] });
    const user = u('frac');
    await post('/v1/track', `{"userId": "${user}", "event": "E", "properties": {"p": 12345678.123456789}}`);
    const { text } = await gqlText(PROFILE, { by: { type: 'user_id', value: user } });
    expect(text).toContain('"p":12345678.123456789');
  });

  it('refuses unpaired surrogates in ids, messageIds and trait keys, never 500', async () => {
    for (const [body, path] of [
      ['{"userId": "x\\ud800"}', ['userId']],
      [`{"userId": "${u('sur')}", "messageId": "m\\udc00"}`, ['messageId']],
      [`{"userId": "${u('sur')}", "traits": {"email": "a\\ud800@x.com"}}`, ['traits', 'email']],
      [`{"userId": "${u('sur')}", "traits": {"k\\ud800": 1}}`, ['traits', 'k\ud800']],
    ] as const) {
      const res = await post('/v1/identify', body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', path });
    }
  });
});

describe('text PostgreSQL cannot store (docs/adr/0018-event-store.md)', () => {
  it('refuses NUL in an id or an identifier value, at its path, never 500', async () => {
    for (const [body, path] of [
      ['{"userId": "x\\u0000y"}', ['userId']],
      [`{"userId": "${u('nul')}", "messageId": "m\\u0000"}`, ['messageId']],
      [`{"userId": "${u('nul')}", "traits": {"email": "a\\u0000@x.com"}}`, ['traits', 'email']],
    ] as const) {
      const res = await post('/v1/identify', body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', path });
    }
  });

  it('stores NUL and unpaired surrogates in properties and names as U+FFFD, with a warning', async () => {
    const user = u('fffd');
    const res = await post(
      '/v1/batch',
      `{"batch": [{"type": "track", "userId": "${user}", "event": "E\\u0000", "messageId": "${user}-m",
        "properties": {"a": "x\\u0000y", "k\\ud800": ["\\udc00"], "ok": "fine"}}]}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.results[0].warnings).toEqual([
      expect.objectContaining({ code: 'TEXT_REPLACED', path: ['batch', 0, 'event'] }),
      expect.objectContaining({ code: 'TEXT_REPLACED', path: ['batch', 0, 'properties'] }),
    ]);
    const found = await profile('user_id', user);
    expect(found?.events.nodes[0]).toMatchObject({
      messageId: `${user}-m`,
      properties: { a: 'x\ufffdy', 'k\ufffd': ['\ufffd'], ok: 'fine' },
    });
  });
});

describe('case 2: over-long values and odd trait keys', () => {
  it('refuses an over-long item alone and applies its neighbours', async () => {
    const [first, second] = [u('nb1'), u('nb2')];
    const res = await post('/v1/batch', {
      batch: [
        { type: 'identify', userId: first },
        { type: 'identify', userId: 'x'.repeat(9000) },
        { type: 'identify', userId: second },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ applied: 2, refused: 1 });
    expect(res.body.results[1].error).toMatchObject({
      code: 'VALIDATION_FAILED',
      path: ['batch', 1, 'userId'],
    });
    expect(await profile('user_id', first)).not.toBeNull();
    expect(await profile('user_id', second)).not.toBeNull();
  });

  it.each([
    ['userId (8,147 ASCII)', { userId: 'a'.repeat(8147) }, ['userId']],
    ['userId (2,100 emoji)', { userId: '😀'.repeat(2100) }, ['userId']],
    ['traits.email', { userId: 'ok', traits: { email: `${'e'.repeat(9000)}@x.com` } }, ['traits', 'email']],
    [
      'externalIds id',
      { userId: 'ok', context: { externalIds: [{ id: 'i'.repeat(9000), type: 'crm_id' }] } },
      ['context', 'externalIds', 0, 'id'],
    ],
    [
      'externalIds type',
      { userId: 'ok', context: { externalIds: [{ id: 'x', type: 't'.repeat(9000) }] } },
      ['context', 'externalIds', 0, 'type'],
    ],
    ['a trait key with NUL', { userId: 'ok', traits: { 'a\u0000b': 1 } }, ['traits', 'a\u0000b']],
  ])('answers 400 for %s, never 500', async (_, body, path) => {
    const res = await post('/v1/identify', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', path });
  });

  it('answers lookups by over-long values as not found, never 500', async () => {
    const long = 'x'.repeat(9000);
    const byGraphql = await gqlText(PROFILE, { by: { type: 'user_id', value: long } });
    expect(byGraphql.status).toBe(200);
    expect(byGraphql.body.data?.profile).toBeNull();
    const account = await gqlText(`query ($g: String!) { account(groupId: $g) { groupId } }`, { g: long });
    expect(account.body.data?.account).toBeNull();
    const res = await fetch(
      `${service.url}/v1/spaces/${space}/collections/users/profiles/user_id:${long}/traits`,
      {
        headers: { authorization: basic(keys.admin) },
      },
    );
    expect(res.status).toBe(404);
  });

  it('answers 400 for an over-long groupId', async () => {
    const res = await post('/v1/group', { userId: u('grp'), groupId: 'g'.repeat(9000) });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', path: ['groupId'] });
  });
});

describe('cases 3, 4, 11: dates', () => {
  it('keeps years 0000-0099 as written', async () => {
    const user = u('y27');
    await post('/v1/track', { userId: user, event: 'Old', timestamp: '0027-06-27T08:23:48+03:00' });
    const p = await profile('user_id', user);
    expect(p?.events.nodes[0]?.timestamp).toBe('0027-06-27T05:23:48.000Z');
  });

  it('does not let a future clock win: the time is set to receivedAt and says so', async () => {
    const user = u('future');
    const first = await post('/v1/identify', {
      userId: user,
      traits: { plan: 'trial' },
      timestamp: '2569-01-01T00:00:00Z',
    });
    expect(first.body.warnings).toMatchObject([{ code: 'TIMESTAMP_CLAMPED', path: ['timestamp'] }]);
    await post('/v1/identify', { userId: user, traits: { plan: 'pro' } });
    await post('/v1/identify', { userId: user, traits: { plan: 'enterprise' } });
    const p = await profile('user_id', user);
    expect(p?.traits.plan).toBe('enterprise');
    expect(p?.events.nodes.flatMap((e) => e.warnings)).toMatchObject([{ code: 'TIMESTAMP_CLAMPED' }]);
  });

  it('keeps an event whose time field is unreadable, with a warning on the answer and the event', async () => {
    const user = u('t17');
    const res = await post('/v1/track', {
      userId: user,
      event: 'Song Played',
      timestamp: '2015-2-02T00:30:12.984Z',
    });
    expect(res.status).toBe(200);
    expect(res.body.warnings).toMatchObject([{ code: 'TIMESTAMP_INVALID', path: ['timestamp'] }]);
    expect(res.body.warnings[0].message).toContain('2015-2-02T00:30:12.984Z');
    const batch = await post('/v1/batch', {
      sentAt: 'NOW',
      batch: [
        { type: 'track', userId: user, event: 'A', timestamp: '2017' },
        { type: 'track', userId: user, event: 'B', originalTimestamp: 1714564800000, sentAt: '2024-05-01' },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results[0].warnings.map((w: { path: unknown[] }) => w.path)).toEqual([
      ['sentAt'],
      ['batch', 0, 'timestamp'],
    ]);
    expect(batch.body.results[1].warnings.map((w: { path: unknown[] }) => w.path)).toEqual([
      ['batch', 1, 'originalTimestamp'],
      ['batch', 1, 'sentAt'],
    ]);
    const p = await profile('user_id', user);
    expect(p?.events.nodes).toHaveLength(3);
    expect(p?.events.nodes.every((e) => e.warnings.length > 0)).toBe(true);
  });
});

describe('cases 6, 12, 13: what Segment accepts', () => {
  it("reads PHP's [] as {} everywhere, including a batch's context", async () => {
    const user = u('php');
    for (const field of ['properties', 'traits', 'context', 'integrations']) {
      const res = await post('/v1/track', { userId: user, event: 'E', [field]: [] });
      expect(res.status).toBe(200);
    }
    const batch = await post('/v1/batch', {
      batch: [{ type: 'identify', userId: user, traits: [] }],
      context: [],
      integrations: [],
    });
    expect(batch.status).toBe(200);
  });

  it('treats a blank messageId as absent', async () => {
    const res = await post('/v1/track', { userId: u('u18'), event: 'Clicked', messageId: '' });
    expect(res.status).toBe(200);
    expect(res.body.messageId).toMatch(/^sg-/);
  });

  it('records an alias with anonymousId and previousId and no userId, merging nothing', async () => {
    const res = await post('/v1/alias', { anonymousId: u('anon'), previousId: u('prev') });
    expect(res.status).toBe(200);
    expect((await profile('anonymous_id', u('anon')))?.identifiers).toEqual([
      { type: 'anonymous_id', value: u('anon') },
    ]);
  });
});

describe('case 7: junk placeholders', () => {
  it.each(['NULL', 'Undefined', 'None', 'nil', 'NaN', '[object Object]', 'true', 'N/A'])(
    'does not glue two visitors sending userId %j',
    async (junk) => {
      const [a, b] = [u(`v1-${junk}`), u(`v2-${junk}`)];
      await post('/v1/identify', { userId: junk, anonymousId: a });
      await post('/v1/identify', { userId: junk, anonymousId: b });
      const [pa, pb] = [await profile('anonymous_id', a), await profile('anonymous_id', b)];
      expect(pa?.id).toBeDefined();
      expect(pa?.id).not.toBe(pb?.id);
      expect(await profile('user_id', junk)).toBeNull();
    },
  );

  it('does not merge anonymous visitors through an email of n/a or none', async () => {
    const ids = [u('m1'), u('m2'), u('m3')];
    await post('/v1/identify', { anonymousId: ids[0], traits: { email: 'n/a' } });
    await post('/v1/identify', { anonymousId: ids[1], traits: { email: 'N/A' } });
    await post('/v1/identify', { anonymousId: ids[2], traits: { email: 'none' } });
    const profiles = await Promise.all(ids.map((id) => profile('anonymous_id', id)));
    expect(new Set(profiles.map((p) => p?.id)).size).toBe(3);
  });

  it('creates and links no account for a junk groupId, and reports it', async () => {
    const user = u('junkgroup');
    const GROUP = `mutation ($input: GroupInput!) { group(input: $input) { ok violations { code identifier { type value } } } }`;
    for (const groupId of ['undefined', 'null', '0']) {
      const data = await gql(GROUP, { input: { userId: user, groupId, traits: { name: 'x' } } });
      expect(data.group).toEqual({
        ok: true,
        violations: [{ code: 'ID_VALUE_BLOCKED', identifier: { type: 'group_id', value: groupId } }],
      });
      expect(
        (await gql(`query ($g: String!) { account(groupId: $g) { groupId } }`, { g: groupId })).account,
      ).toBeNull();
    }
    expect((await profile('user_id', user))?.accounts).toEqual([]);
  });
});

describe('case 8: one address, one identifier', () => {
  it('normalises zero-width characters and NFD at write and at lookup', async () => {
    const local = `rené.${run}`;
    await post('/v1/identify', { userId: u('zw'), traits: { email: `${local}\u200b@X.com` } });
    const p = await profile('email', `${local.normalize('NFD')}@x.com`);
    expect(p?.identifiers).toContainEqual({ type: 'email', value: `${local}@x.com` });
    await post('/v1/identify', {
      userId: u('zw'),
      traits: { email: `\ufeff${local.normalize('NFD')}@x.com` },
    });
    const again = await profile('user_id', u('zw'));
    expect(again?.identifiers.filter((i) => i.type === 'email')).toHaveLength(1);
  });
});

describe('case 9: a write key cannot grow the rules without bound', () => {
  it('stops registering types at the cap and drops the rest with IDENTIFIER_TYPE_LIMIT', async () => {
    const IDENTIFY = `mutation ($input: IdentifyInput!) { identify(input: $input) { ok violations { code identifier { type } } } }`;
    const externalIds = (from: number) =>
      Array.from({ length: 30 }, (_, i) => ({
        id: `x${i}`,
        type: `t${String(from + i).padStart(3, '0')}`,
        collection: 'users',
      }));
    await gql(IDENTIFY, { input: { userId: u('cap'), context: { externalIds: externalIds(0) } } });
    const second = await gql(IDENTIFY, {
      input: { userId: u('cap'), context: { externalIds: externalIds(30) } },
    });
    const rules = (await gql('{ identityRules { type } }', {})).identityRules as unknown[];
    expect(rules).toHaveLength(50);
    const limited = (second.identify.violations as { code: string }[]).filter(
      (v) => v.code === 'IDENTIFIER_TYPE_LIMIT',
    );
    expect(limited).toHaveLength(20);
    expect(second.identify.ok).toBe(true);
  });
});

describe('case 10: a trait named __proto__', () => {
  it('is shown by the Profile API as GraphQL shows it', async () => {
    const user = u('proto');
    await post('/v1/identify', `{"userId": "${user}", "traits": {"__proto__": "x", "plan": "pro"}}`);
    expect((await profile('user_id', user))?.traits).toEqual(JSON.parse('{"__proto__": "x", "plan": "pro"}'));
    const res = await fetch(
      `${service.url}/v1/spaces/${space}/collections/users/profiles/user_id:${user}/traits`,
      {
        headers: { authorization: basic(keys.admin) },
      },
    );
    const body = JSON.parse(await res.text()) as { traits: Record<string, unknown> };
    expect(Object.keys(body.traits).sort()).toEqual(['__proto__', 'plan']);
  });
});

describe('case 2, the trait mirror: a write key cannot grow property names without bound', () => {
  it('mirrors at most MIRRORED_TRAIT_KEYS_CAP trait keys per space, and keeps every trait', async () => {
    const user = u('many-keys');
    const total = 4 * 299;
    for (let part = 0; part < 4; part++) {
      const traits = Object.fromEntries(
        Array.from({ length: 299 }, (_, i) => [`k${part * 299 + i}-${run}`, part * 299 + i]),
      );
      expect((await post('/v1/identify', { userId: user, traits })).status).toBe(200);
    }
    const p = await profile('user_id', user);
    expect(Object.keys(p?.traits ?? {})).toHaveLength(total);
    const t = await openTestGraph();
    try {
      const { records } = await t.driver.executeQuery(
        `MATCH (tk:TraitKey {space: $space}) WITH count(tk) AS registered
         MATCH (:Identifier {space: $space, key: $key})-[:IDENTIFIES]->(pr:Profile)
         RETURN registered, size([k IN keys(pr) WHERE k STARTS WITH 'trait.']) AS mirrored`,
        { space, key: `user_id:${user}` },
      );
      expect(Number(records[0]?.get('registered'))).toBe(MIRRORED_TRAIT_KEYS_CAP);
      const mirrored = Number(records[0]?.get('mirrored'));
      expect(mirrored).toBeGreaterThan(0);
      expect(mirrored).toBeLessThan(total);
    } finally {
      await t.close();
    }
    // A mirrored key is still searchable.
    const found = await gql(
      `query ($key: String!) { profiles(first: 5, where: { trait: { key: $key, equals: 0 } }) { nodes { id } } }`,
      { key: `k0-${run}` },
    );
    expect(found.profiles.nodes).toEqual([{ id: p?.id }]);
  });
});
