// The Segment-compatible tracking API over raw HTTP, against the real service and the run's Neo4j: every
// status code it answers with, and the events read back over GraphQL (docs/adr/0007-tracking-api.md).
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { startTestService } from '../support/service.ts';

const run = randomUUID().slice(0, 8);
const spaceA = `trk-a-${run}`;
const spaceB = `trk-b-${run}`;
let service: Service;
/** A second process of the service, with a tiny rate limit. */
let limited: Service;
const keys = { writeA: '', writeB: '', tokenA: '', tokenB: '', writeTokenA: '', limitedWrite: '' };

function start(env: Record<string, string> = {}): Promise<Service> {
  return startTestService(env);
}

beforeAll(async () => {
  [service, limited] = await Promise.all([
    start(),
    start({ TRACKING_RATE_LIMIT: '1', TRACKING_RATE_BURST: '2' }),
  ]);
  const spaces = service.services.spaces;
  await spaces.createSpace(spaceA);
  await spaces.createSpace(spaceB);
  keys.writeA = (await spaces.createKey(spaceA, 'write')).secret;
  keys.writeB = (await spaces.createKey(spaceB, 'write')).secret;
  keys.tokenA = (await spaces.createKey(spaceA, 'token')).secret;
  keys.tokenB = (await spaces.createKey(spaceB, 'token')).secret;
  keys.writeTokenA = (await spaces.createKey(spaceA, 'token', { scopes: ['write'] })).secret;
  keys.limitedWrite = (await spaces.createKey(spaceA, 'write')).secret;
});
afterAll(async () => {
  await Promise.all([service?.stop(), limited?.stop()]);
});

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

interface PostOptions {
  /** Sent as HTTP Basic; null sends no Authorization header. */
  key?: string | null;
  headers?: Record<string, string>;
  target?: Service;
}

async function post(path: string, body: unknown, options: PostOptions = {}) {
  const key = options.key === undefined ? keys.writeA : options.key;
  const res = await fetch(`${(options.target ?? service).url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: basic(key) }),
      ...options.headers,
    },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function gql(query: string, variables: Record<string, unknown>, token = keys.tokenA) {
  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data ?? {};
}

interface ProfileView {
  identifiers: { type: string; value: string }[];
  traits: Record<string, unknown>;
  accounts: { groupId: string; traits: Record<string, unknown> }[];
  events: { nodes: { type: string; event: string | null; name: string | null; messageId: string }[] };
}

async function profileOf(userId: string, token = keys.tokenA): Promise<ProfileView | null> {
  const data = await gql(
    `query ($by: IdentifierInput!) {
      profile(by: $by) {
        identifiers { type value } traits accounts { groupId traits }
        events(first: 100, order: OLDEST_FIRST) { nodes { type event name messageId } }
      }
    }`,
    { by: { type: 'user_id', value: userId } },
    token,
  );
  return (data.profile ?? null) as ProfileView | null;
}

const success = (messageId: string, duplicate = false) => ({ success: true, messageId, duplicate });

describe('accepted calls', () => {
  it.each([
    [
      'long',
      {
        identify: 'identify',
        track: 'track',
        page: 'page',
        screen: 'screen',
        group: 'group',
        alias: 'alias',
      },
    ],
    ['short (analytics.js)', { identify: 'i', track: 't', page: 'p', screen: 's', group: 'g', alias: 'a' }],
  ])('answers 200 on each %s path and the events land', async (kind, paths) => {
    const user = `u-${kind.slice(0, 4)}-${run}`;
    const id = (n: number) => `${user}-${n}`;
    const calls: [string, Record<string, unknown>][] = [
      [
        paths.identify,
        { userId: user, messageId: id(1), traits: { plan: 'pro' }, timestamp: '2026-03-01T09:00:00Z' },
      ],
      [
        paths.track,
        { userId: user, messageId: id(2), event: 'Signed Up', timestamp: '2026-03-01T09:01:00Z' },
      ],
      [paths.page, { userId: user, messageId: id(3), name: 'Pricing', timestamp: '2026-03-01T09:02:00Z' }],
      [paths.screen, { userId: user, messageId: id(4), name: 'Home', timestamp: '2026-03-01T09:03:00Z' }],
      [
        paths.group,
        {
          userId: user,
          messageId: id(5),
          groupId: `g-${user}`,
          traits: { name: 'Acme' },
          timestamp: '2026-03-01T09:04:00Z',
        },
      ],
      [
        paths.alias,
        { userId: user, previousId: `old-${user}`, messageId: id(6), timestamp: '2026-03-01T09:05:00Z' },
      ],
    ];
    for (const [i, [path, body]] of calls.entries()) {
      expect(await post(`/v1/${path}`, body)).toMatchObject({ status: 200, body: success(id(i + 1)) });
    }
    const profile = await profileOf(user);
    expect(profile).toMatchObject({
      identifiers: [{ type: 'user_id', value: user }],
      traits: { plan: 'pro' },
      accounts: [{ groupId: `g-${user}`, traits: { name: 'Acme' } }],
    });
    expect(profile?.events.nodes.map((e) => [e.type, e.event ?? e.name])).toEqual([
      ['identify', null],
      ['track', 'Signed Up'],
      ['page', 'Pricing'],
      ['screen', 'Home'],
      ['group', null],
      ['alias', null],
    ]);
  });

  it.each(['/v1/batch', '/v1/b'])('answers 200 on %s with every item outcome', async (path) => {
    const user = `batch-${path.length}-${run}`;
    const res = await post(path, {
      batch: [
        { type: 'identify', userId: user, messageId: `${user}-1`, traits: { email: `${user}@x.com` } },
        { type: 'track', userId: user, messageId: `${user}-2`, event: 'Ordered' },
        { type: 'track', userId: user, messageId: `${user}-2`, event: 'Ordered' },
      ],
      context: { library: { name: 'test' } },
      sentAt: new Date().toISOString(),
    });
    expect(res).toMatchObject({
      status: 200,
      body: {
        success: true,
        applied: 2,
        duplicates: 1,
        refused: 0,
        results: [
          { ok: true, messageId: `${user}-1`, duplicate: false, error: null },
          { ok: true, messageId: `${user}-2`, duplicate: false, error: null },
          { ok: true, messageId: `${user}-2`, duplicate: true, error: null },
        ],
      },
    });
    expect((await profileOf(user))?.events.nodes.map((e) => e.messageId).sort()).toEqual([
      `${user}-1`,
      `${user}-2`,
    ]);
  });

  it('takes a text/plain body with the write key in it, as browsers send', async () => {
    const user = `plain-${run}`;
    const res = await post(
      '/v1/t',
      JSON.stringify({ writeKey: keys.writeA, userId: user, event: 'Clicked', messageId: `${user}-1` }),
      { key: null, headers: { 'content-type': 'text/plain' } },
    );
    expect(res).toMatchObject({ status: 200, body: success(`${user}-1`) });
    expect((await profileOf(user))?.events.nodes).toHaveLength(1);
  });

  it('takes a write key as a Bearer token, and a gzip body', async () => {
    const user = `bearer-${run}`;
    const body = gzipSync(JSON.stringify({ userId: user, traits: { plan: 'team' }, messageId: `${user}-1` }));
    const res = await post('/v1/identify', new Uint8Array(body), {
      key: null,
      headers: { authorization: `Bearer ${keys.writeA}`, 'content-encoding': 'gzip' },
    });
    expect(res).toMatchObject({ status: 200, body: success(`${user}-1`) });
    expect((await profileOf(user))?.traits).toEqual({ plan: 'team' });
  });

  it('reports a re-sent messageId as a duplicate, still 200', async () => {
    const body = { userId: `dup-${run}`, event: 'E', messageId: `dup-${run}` };
    expect((await post('/v1/track', body)).body).toEqual(success(`dup-${run}`));
    expect(await post('/v1/track', body)).toMatchObject({ status: 200, body: success(`dup-${run}`, true) });
  });
});

describe('refusals', () => {
  const error = (code: string, path: unknown[] = [], message: unknown = expect.any(String)) => ({
    success: false,
    error: { code, message, path },
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await post('/v1/track', '{"userId": "x", ');
    expect(res).toEqual({
      status: 400,
      headers: expect.anything(),
      body: error('BAD_REQUEST', [], 'The request body is not valid JSON.'),
    });
    expect((await post('/v1/track', '[1, 2]')).body).toEqual(error('VALIDATION_FAILED'));
  });

  it('answers 400 for an event that fails validation, with the field path', async () => {
    const res = await post('/v1/track', { userId: `v-${run}` });
    expect(res).toMatchObject({
      status: 400,
      body: error('VALIDATION_FAILED', ['event'], 'event (the track name) is required'),
    });
  });

  it('answers 400 NO_IDENTIFIERS when every identifier is blocked', async () => {
    const res = await post('/v1/identify', { userId: 'anonymous', traits: { plan: 'x' } });
    expect(res).toMatchObject({ status: 400, body: error('NO_IDENTIFIERS') });
  });

  it('answers 400 for an over-size event, measured as JSON and as the raw body', async () => {
    const user = `big-${run}`;
    const big = await post('/v1/track', {
      userId: user,
      event: 'Big',
      properties: { blob: 'x'.repeat(33 * 1024) },
    });
    expect(big).toMatchObject({
      status: 400,
      body: error('PAYLOAD_TOO_LARGE', [], expect.stringMatching(/32 KB/)),
    });
    const huge = await post('/v1/track', {
      userId: user,
      event: 'Huge',
      properties: { blob: 'x'.repeat(200_000) },
    });
    expect(huge).toMatchObject({
      status: 400,
      body: error('PAYLOAD_TOO_LARGE', [], expect.stringMatching(/over 65536 bytes/)),
    });
    expect(await profileOf(user)).toBeNull();
  });

  it('answers 400 for an over-size batch, by count and by bytes, and writes nothing of it', async () => {
    const user = `bigbatch-${run}`;
    const item = { type: 'track', userId: user, event: 'E' };
    const tooMany = await post('/v1/batch', { batch: Array.from({ length: 2501 }, () => item) });
    expect(tooMany).toMatchObject({
      status: 400,
      body: error('PAYLOAD_TOO_LARGE', ['batch'], expect.stringMatching(/2501 events/)),
    });
    const fat = { ...item, properties: { blob: 'x'.repeat(20_000) } };
    const tooBig = await post('/v1/batch', { batch: Array.from({ length: 30 }, () => fat) });
    expect(tooBig).toMatchObject({
      status: 400,
      body: error('PAYLOAD_TOO_LARGE', [], expect.stringMatching(/500 KB/)),
    });
    const raw = await post('/v1/batch', { batch: Array.from({ length: 60 }, () => fat) });
    expect(raw).toMatchObject({
      status: 400,
      body: error('PAYLOAD_TOO_LARGE', [], expect.stringMatching(/over 1024000 bytes/)),
    });
    expect(await profileOf(user)).toBeNull();
  });

  it('answers 400 for a batch with an invalid item, naming it, and applies the valid items', async () => {
    const user = `partial-${run}`;
    const res = await post('/v1/batch', {
      batch: [
        { type: 'identify', userId: user, messageId: `${user}-1`, traits: { plan: 'pro' } },
        { type: 'group', userId: user, messageId: `${user}-2` },
        { type: 'track', userId: user, messageId: `${user}-3`, event: 'After' },
        { type: 'login', userId: user },
      ],
    });
    expect(res).toMatchObject({
      status: 400,
      body: {
        success: false,
        error: {
          code: 'VALIDATION_FAILED',
          message: expect.stringMatching(/^2 of 4 events were refused .*batch\[1\]: groupId is required/),
          path: ['batch', 1, 'groupId'],
        },
        applied: 2,
        duplicates: 0,
        refused: 2,
        results: [
          { ok: true, messageId: `${user}-1`, duplicate: false, error: null },
          {
            ok: false,
            messageId: null,
            duplicate: false,
            error: { code: 'VALIDATION_FAILED', message: expect.any(String), path: ['batch', 1, 'groupId'] },
          },
          { ok: true, messageId: `${user}-3`, duplicate: false, error: null },
          {
            ok: false,
            messageId: null,
            duplicate: false,
            error: { code: 'VALIDATION_FAILED', message: expect.any(String), path: ['batch', 3, 'type'] },
          },
        ],
      },
    });
    expect((await profileOf(user))?.events.nodes.map((e) => e.messageId)).toEqual([`${user}-1`, `${user}-3`]);
  });

  it('answers 401 for a missing or unknown key, with no Basic challenge a browser would prompt for', async () => {
    const body = { userId: `auth-${run}`, event: 'E' };
    const missing = await post('/v1/track', body, { key: null });
    expect(missing).toMatchObject({ status: 401, body: error('UNAUTHENTICATED') });
    // Issue 11 §4: a Basic challenge makes a browser prompt, then send what it was given on its own.
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="stitchgraph"');
    expect(await post('/v1/track', body, { key: 'sgw_unknown' })).toMatchObject({
      status: 401,
      body: error('UNAUTHENTICATED'),
    });
    expect(await post('/v1/track', { ...body, writeKey: 'sgw_unknown' }, { key: null })).toMatchObject({
      status: 401,
    });
    for (const res of [
      await post('/v1/track', body, { key: 'sgw_unknown' }),
      await post('/v1/track', { ...body, writeKey: 'sgw_unknown' }, { key: null }),
    ]) {
      expect(res.headers.get('www-authenticate') ?? '').not.toMatch(/basic/i);
    }
    expect(await profileOf(`auth-${run}`)).toBeNull();
  });

  it('answers 403 naming write keys for any access token, even one with the write scope', async () => {
    // Issue 11 §4: /v1 takes write keys only. A token is an operator's secret that a browser may hold;
    // tokens send events through GraphQL.
    const user = `token-${run}`;
    const forbidden = error(
      'FORBIDDEN',
      [],
      'The tracking API (/v1) accepts write keys only, not access tokens; send events with a write key, or with an access token through GraphQL.',
    );
    const body = { userId: user, event: 'E', messageId: `${user}-1` };
    for (const token of [keys.tokenA, keys.writeTokenA]) {
      expect(await post('/v1/track', body, { key: token })).toMatchObject({ status: 403, body: forbidden });
      expect(
        await post('/v1/track', body, { key: null, headers: { authorization: `Bearer ${token}` } }),
      ).toMatchObject({ status: 403, body: forbidden });
      // The text/plain POST a page on another site can send without a preflight, key in the body.
      expect(
        await post('/v1/t', JSON.stringify({ ...body, writeKey: token }), {
          key: null,
          headers: { 'content-type': 'text/plain', origin: 'http://elsewhere.example' },
        }),
      ).toMatchObject({ status: 403, body: forbidden });
    }
    // Nor do a token's analytics.js settings exist.
    const settings = await fetch(`${service.url}/v1/projects/${keys.writeTokenA}/settings`);
    expect(settings.status).toBe(404);
    expect(await profileOf(user)).toBeNull();
  });

  it('answers 429 with Retry-After over the configured rate, per key', async () => {
    const send = (n: number, key = keys.limitedWrite) =>
      post(
        '/v1/track',
        { userId: `rate-${run}`, event: 'E', messageId: `rate-${run}-${n}` },
        { key, target: limited },
      );
    expect((await send(1)).status).toBe(200);
    expect((await send(2)).status).toBe(200);
    const third = await send(3);
    expect(third).toMatchObject({ status: 429, body: error('RATE_LIMITED') });
    expect(third.headers.get('retry-after')).toBe('1');
    // Another key has its own bucket.
    expect((await send(4, keys.writeA)).status).toBe(200);
    // A batch costs one token per event: after a full refill, a batch of 3 exceeds the burst of 2 and is
    // admitted only because the bucket is full, leaving it in debt.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const batch = await post(
      '/v1/batch',
      {
        batch: [5, 6, 7].map((n) => ({
          type: 'track',
          userId: `rate-${run}`,
          event: 'E',
          messageId: `rate-${run}-${n}`,
        })),
      },
      { key: keys.limitedWrite, target: limited },
    );
    expect(batch.status).toBe(200);
    const after = await send(8);
    expect(after.status).toBe(429);
    expect(Number(after.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);
  });

  it('answers 405 for a method other than POST', async () => {
    const res = await fetch(`${service.url}/v1/track`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });
});

describe('browsers', () => {
  it('answers a CORS preflight and echoes the origin on the answer, never allowing credentials', async () => {
    const origin = 'http://shop.example';
    const preflight = await fetch(`${service.url}/v1/t`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(Object.fromEntries(preflight.headers)).toMatchObject({
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'authorization,content-type',
      vary: 'Origin',
    });
    const res = await post('/v1/t', { userId: `cors-${run}`, event: 'E' }, { headers: { origin } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    // Issue 11 §4: without Allow-Credentials a browser neither sends cookies or cached HTTP credentials
    // along a cross-site request that asks to include them, nor lets the page read the answer.
    const settings = await fetch(`${service.url}/v1/projects/${keys.writeA}/settings`, {
      headers: { origin },
    });
    const refused = await post(
      '/v1/t',
      { userId: `cors-${run}`, event: 'E' },
      { key: null, headers: { origin } },
    );
    for (const answer of [preflight.headers, res.headers, settings.headers, refused.headers]) {
      expect(answer.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('serves analytics.js settings naming this server, and 404 for an unknown key', async () => {
    const res = await fetch(`${service.url}/v1/projects/${keys.writeA}/settings`, {
      headers: { origin: 'http://shop.example' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://shop.example');
    const host = new URL(service.url).host;
    expect(await res.json()).toMatchObject({
      integrations: { 'Segment.io': { apiKey: keys.writeA, apiHost: `${host}/v1`, protocol: 'http' } },
      metrics: { sampleRate: 0 },
    });
    const unknown = await fetch(`${service.url}/v1/projects/sgw_nope/settings`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

describe('isolation', () => {
  it("a space's write key writes into that space only", async () => {
    const user = `iso-${run}`;
    expect(
      (await post('/v1/identify', { userId: user, traits: { from: 'A' } }, { key: keys.writeA })).status,
    ).toBe(200);
    expect(await profileOf(user, keys.tokenB)).toBeNull();
    expect((await profileOf(user, keys.tokenA))?.traits).toEqual({ from: 'A' });
    // Space B's key with the same user id makes B's own profile; A's is untouched.
    expect(
      (await post('/v1/identify', { userId: user, traits: { from: 'B' } }, { key: keys.writeB })).status,
    ).toBe(200);
    expect((await profileOf(user, keys.tokenB))?.traits).toEqual({ from: 'B' });
    expect((await profileOf(user, keys.tokenA))?.traits).toEqual({ from: 'A' });
  });
});
