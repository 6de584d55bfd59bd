// The Segment-compatible Profile API (issue #5, docs/adr/0008-profile-api.md) through the real service:
// every endpoint for users and accounts, whole responses, paging, and every refusal with its code.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventType } from '../../src/ingest/index.ts';
import type { Service } from '../../src/service.ts';
import { startTestService } from '../support/service.ts';

let service: Service;
const run = randomUUID().slice(0, 8);
const space = `papi-${run}`;
const otherSpace = `papi-other-${run}`;
let token = '';
let otherToken = '';
let writeKey = '';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const users = `/v1/spaces/${space}/collections/users/profiles`;
const accounts = `/v1/spaces/${space}/collections/accounts/profiles`;

async function send(type: EventType, input: Record<string, unknown>): Promise<void> {
  const outcome = await service.services.ingest.send(space, type, input);
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true, duplicate: false });
}

/** A GET with the secret as the HTTP Basic user name and an empty password, as Segment's clients send it. */
async function get(path: string, secret: string | null = token, method = 'GET') {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers:
      secret === null ? {} : { authorization: `Basic ${Buffer.from(`${secret}:`).toString('base64')}` },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  service = await startTestService();
  const { spaces } = service.services;
  await spaces.createSpace(space);
  await spaces.createSpace(otherSpace);
  token = (await spaces.createKey(space, 'token')).secret;
  otherToken = (await spaces.createKey(otherSpace, 'token', { scopes: ['write', 'admin'] })).secret;
  writeKey = (await spaces.createKey(space, 'write')).secret;

  await send('track', {
    anonymousId: 'pa-anon',
    event: 'Viewed Pricing',
    properties: { plan: 'pro' },
    context: { ip: '203.0.113.9' },
    messageId: 'pa-1',
    timestamp: at(1),
  });
  await send('identify', {
    userId: 'pa-user',
    anonymousId: 'pa-anon',
    traits: { email: 'Pa.User@Example.com', plan: 'pro', seats: 3 },
    messageId: 'pa-2',
    timestamp: at(2),
  });
  await send('group', {
    userId: 'pa-user',
    groupId: 'pa-acme',
    traits: { name: 'Acme' },
    messageId: 'pa-3',
    timestamp: at(3),
  });
  await send('page', {
    userId: 'pa-user',
    name: 'Pricing',
    properties: { path: '/pricing' },
    messageId: 'pa-4',
    timestamp: at(4),
  });
  await send('identify', { userId: 'pa-user2', messageId: 'pa-5', timestamp: at(5) });
  await send('group', {
    userId: 'pa-user2',
    groupId: 'pa-acme',
    traits: { employees: 50 },
    messageId: 'pa-6',
    timestamp: at(6),
  });
  for (let i = 0; i < 25; i++) {
    const n = String(i).padStart(2, '0');
    await send('track', {
      userId: 'pa-pager',
      event: 'Clicked',
      messageId: `pg-${n}`,
      timestamp: at(10 + i),
    });
  }
});
afterAll(() => service.stop());

describe('users: traits', () => {
  it('answers a profile found by a normalised external id, traits by key with a cursor', async () => {
    const path = `${users}/email:PA.USER@example.COM/traits`;
    const res = await get(path);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: {
        traits: { email: 'Pa.User@Example.com', plan: 'pro', seats: 3 },
        cursor: { url: path, has_more: false, next: '', limit: 10 },
      },
    });
  });

  it('returns only the included keys, and each with its provenance when verbose', async () => {
    const path = `${users}/user_id:pa-user/traits?include=plan,%20seats,nope&verbose=true`;
    expect((await get(path)).body).toEqual({
      traits: {
        plan: { value: 'pro', source_id: null, updated_at: at(2), message_id: 'pa-2' },
        seats: { value: 3, source_id: null, updated_at: at(2), message_id: 'pa-2' },
      },
      cursor: { url: path, has_more: false, next: '', limit: 10 },
    });
  });

  it('pages traits with limit and next', async () => {
    const first = await get(`${users}/user_id:pa-user/traits?limit=2`);
    const cursor = first.body.cursor as { url: string; next: string };
    expect(first.body).toEqual({
      traits: { email: 'Pa.User@Example.com', plan: 'pro' },
      cursor: {
        url: `${users}/user_id:pa-user/traits?limit=2&next=${cursor.next}`,
        has_more: true,
        next: expect.any(String),
        limit: 2,
      },
    });
    expect((await get(cursor.url)).body).toEqual({
      traits: { seats: 3 },
      cursor: { url: `${users}/user_id:pa-user/traits?limit=2`, has_more: false, next: '', limit: 2 },
    });
  });

  it('has no traits of the classes we do not compute, and refuses unknown classes', async () => {
    const path = `${users}/user_id:pa-user/traits?class=audience`;
    expect((await get(path)).body).toEqual({
      traits: {},
      cursor: { url: path, has_more: false, next: '', limit: 10 },
    });
    expect((await get(`${users}/user_id:pa-user/traits?class=custom_trait&include=plan`)).body).toMatchObject(
      {
        traits: { plan: 'pro' },
      },
    );
    expect(await get(`${users}/user_id:pa-user/traits?class=unique`)).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', field: 'class' } },
    });
  });
});

describe('users: events', () => {
  it('lists the merged history newest first, in Segment event shapes', async () => {
    const path = `${users}/anonymous_id:pa-anon/events`;
    const res = await get(path);
    const related = { users: expect.any(String) };
    expect(res).toMatchObject({ status: 200 });
    expect(res.body).toEqual({
      data: [
        {
          external_ids: [{ collection: 'users', type: 'user_id', id: 'pa-user', encoding: 'none' }],
          context: {},
          type: 'page',
          message_id: 'pa-4',
          source_id: null,
          timestamp: at(4),
          name: 'Pricing',
          category: null,
          properties: { path: '/pricing' },
          related,
        },
        {
          external_ids: [
            { collection: 'users', type: 'user_id', id: 'pa-user', encoding: 'none' },
            { collection: 'accounts', type: 'group_id', id: 'pa-acme', encoding: 'none' },
          ],
          context: {},
          type: 'group',
          message_id: 'pa-3',
          source_id: null,
          timestamp: at(3),
          group_id: 'pa-acme',
          traits: { name: 'Acme' },
          related,
        },
        {
          external_ids: [
            { collection: 'users', type: 'anonymous_id', id: 'pa-anon', encoding: 'none' },
            { collection: 'users', type: 'email', id: 'pa.user@example.com', encoding: 'none' },
            { collection: 'users', type: 'user_id', id: 'pa-user', encoding: 'none' },
          ],
          context: {},
          type: 'identify',
          message_id: 'pa-2',
          source_id: null,
          timestamp: at(2),
          traits: { email: 'Pa.User@Example.com', plan: 'pro', seats: 3 },
          related,
        },
        {
          external_ids: [{ collection: 'users', type: 'anonymous_id', id: 'pa-anon', encoding: 'none' }],
          context: { ip: '203.0.113.9' },
          type: 'track',
          message_id: 'pa-1',
          source_id: null,
          timestamp: at(1),
          event: 'Viewed Pricing',
          properties: { plan: 'pro' },
          related,
        },
      ],
      cursor: { url: path, has_more: false, next: '', limit: 10 },
    });
    // The profile id in `related` is the one GraphQL knows.
    const profile = await service.services.profiles.profileBy(space, 'user_id', 'pa-user');
    expect((res.body.data as { related: unknown }[])[0]?.related).toEqual({ users: profile?.id });
  });

  it('pages through more events than one page with limit and next', async () => {
    const seen: string[] = [];
    let path = `${users}/user_id:pa-pager/events?limit=10`;
    const pages: { count: number; has_more: boolean }[] = [];
    for (;;) {
      const res = await get(path);
      expect(res.status).toBe(200);
      const data = res.body.data as { message_id: string }[];
      const cursor = res.body.cursor as { url: string; has_more: boolean; next: string; limit: number };
      expect(cursor.limit).toBe(10);
      seen.push(...data.map((e) => e.message_id));
      pages.push({ count: data.length, has_more: cursor.has_more });
      if (!cursor.has_more) {
        expect(cursor.next).toBe('');
        break;
      }
      expect(cursor.url).toBe(`${users}/user_id:pa-pager/events?limit=10&next=${cursor.next}`);
      path = cursor.url;
    }
    expect(pages).toEqual([
      { count: 10, has_more: true },
      { count: 10, has_more: true },
      { count: 5, has_more: false },
    ]);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `pg-${String(24 - i).padStart(2, '0')}`));
  });

  it('filters by event name, time and order', async () => {
    const named = await get(`${users}/user_id:pa-user/events?include=Viewed%20Pricing,Pricing`);
    expect((named.body.data as { message_id: string }[]).map((e) => e.message_id)).toEqual(['pa-4', 'pa-1']);
    const window = await get(
      `${users}/user_id:pa-user/events?start=${at(2)}&end=${encodeURIComponent(at(4))}&sort=asc`,
    );
    expect((window.body.data as { message_id: string }[]).map((e) => e.message_id)).toEqual(['pa-2', 'pa-3']);
  });
});

describe('users: external ids, metadata, links', () => {
  it('lists external ids with when and by which event each joined the profile', async () => {
    const path = `${users}/user_id:pa-user/external_ids`;
    const ids = [
      ['anonymous_id', 'pa-anon', 1, 'pa-1'],
      ['email', 'pa.user@example.com', 2, 'pa-2'],
      ['user_id', 'pa-user', 2, 'pa-2'],
    ] as const;
    const all = await get(path);
    expect({ status: all.status, body: all.body }).toEqual({
      status: 200,
      body: {
        data: ids.map(([type, id, minute, message]) => ({
          id,
          type,
          source_id: null,
          collection: 'users',
          created_at: at(minute),
          encoding: 'none',
          first_message_id: message,
        })),
        cursor: { url: path, has_more: false, next: '', limit: 25 },
      },
    });
    const some = await get(`${users}/user_id:pa-user/external_ids?include=email,user_id&limit=1`);
    expect(some.body).toEqual({
      data: [expect.objectContaining({ type: 'email', id: 'pa.user@example.com' })],
      cursor: expect.objectContaining({ has_more: true, limit: 1 }),
    });
    const rest = await get((some.body.cursor as { url: string }).url);
    expect(rest.body).toEqual({
      data: [expect.objectContaining({ type: 'user_id', id: 'pa-user' })],
      cursor: expect.objectContaining({ has_more: false, next: '' }),
    });
  });

  it('answers metadata, with event times when verbose', async () => {
    const expected = {
      created_at: ISO,
      updated_at: ISO,
      expires_at: null,
      first_message_id: 'pa-1',
      first_source_id: null,
      last_message_id: 'pa-4',
      last_source_id: null,
    };
    const res = await get(`${users}/user_id:pa-user/metadata`);
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { metadata: expected } });
    expect((await get(`${users}/user_id:pa-user/metadata?verbose=true`)).body).toEqual({
      metadata: { ...expected, first_event_at: at(1), last_event_at: at(4) },
    });
  });

  it('links a user to its accounts', async () => {
    const path = `${users}/user_id:pa-user/links`;
    expect((await get(path)).body).toEqual({
      data: [
        {
          to_collection: 'accounts',
          external_ids: [
            {
              id: 'pa-acme',
              type: 'group_id',
              source_id: null,
              collection: 'accounts',
              created_at: ISO,
              encoding: 'none',
            },
          ],
        },
      ],
      cursor: { url: path, has_more: false, next: '', limit: 20 },
    });
  });
});

describe('accounts', () => {
  it('answers an account by group_id: traits, external ids, events, metadata', async () => {
    const base = `${accounts}/group_id:pa-acme`;
    expect((await get(`${base}/traits?verbose=true`)).body).toEqual({
      traits: {
        employees: { value: 50, source_id: null, updated_at: at(6), message_id: 'pa-6' },
        name: { value: 'Acme', source_id: null, updated_at: at(3), message_id: 'pa-3' },
      },
      cursor: { url: `${base}/traits?verbose=true`, has_more: false, next: '', limit: 10 },
    });
    expect((await get(`${base}/external_ids`)).body).toEqual({
      data: [
        {
          id: 'pa-acme',
          type: 'group_id',
          source_id: null,
          collection: 'accounts',
          created_at: ISO,
          encoding: 'none',
          first_message_id: 'pa-3',
        },
      ],
      cursor: { url: `${base}/external_ids`, has_more: false, next: '', limit: 25 },
    });
    expect((await get(`${base}/events?limit=1`)).body).toEqual({
      data: [
        {
          external_ids: [
            { collection: 'users', type: 'user_id', id: 'pa-user2', encoding: 'none' },
            { collection: 'accounts', type: 'group_id', id: 'pa-acme', encoding: 'none' },
          ],
          context: {},
          type: 'group',
          message_id: 'pa-6',
          source_id: null,
          timestamp: at(6),
          group_id: 'pa-acme',
          traits: { employees: 50 },
        },
      ],
      cursor: {
        url: expect.stringMatching(/\/events\?limit=1&next=.+/),
        has_more: true,
        next: expect.any(String),
        limit: 1,
      },
    });
    expect((await get(`${base}/metadata`)).body).toEqual({
      metadata: {
        created_at: ISO,
        updated_at: ISO,
        expires_at: null,
        first_message_id: 'pa-3',
        first_source_id: null,
        last_message_id: 'pa-6',
        last_source_id: null,
      },
    });
  });

  it('links an account to its users, with their external ids, paged', async () => {
    const path = `${accounts}/group_id:pa-acme/links?limit=1`;
    const id = (type: string, value: string) => ({
      id: value,
      type,
      source_id: null,
      collection: 'users',
      created_at: ISO,
      encoding: 'none',
    });
    const first = await get(path);
    expect(first.body).toEqual({
      data: [
        {
          to_collection: 'users',
          external_ids: [
            id('anonymous_id', 'pa-anon'),
            id('email', 'pa.user@example.com'),
            id('user_id', 'pa-user'),
          ],
        },
      ],
      cursor: expect.objectContaining({ has_more: true, limit: 1 }),
    });
    const second = await get((first.body.cursor as { url: string }).url);
    expect(second.body).toEqual({
      data: [{ to_collection: 'users', external_ids: [id('user_id', 'pa-user2')] }],
      cursor: { url: path, has_more: false, next: '', limit: 1 },
    });
  });
});

describe('refusals', () => {
  it('answers an unknown profile or account with a coded 404', async () => {
    for (const path of [
      `${users}/user_id:nobody-${run}/traits`,
      `${users}/group_id:pa-acme/events`,
      `${accounts}/group_id:nothing-${run}/metadata`,
    ]) {
      expect(await get(path)).toMatchObject({
        status: 404,
        body: { error: { code: 'NOT_FOUND', message: 'Profile was not found.' } },
      });
    }
    expect((await get(`${users}/user_id:nobody-${run}/traits`)).body).toEqual({
      error: { code: 'NOT_FOUND', message: 'Profile was not found.' },
    });
  });

  it('needs an access token: none, an unknown one or a write key is a 401, with no Basic challenge', async () => {
    for (const secret of [null, 'sgt_not-a-real-token', writeKey]) {
      const res = await get(`${users}/user_id:pa-user/traits`, secret);
      expect(res.status).toBe(401);
      // Issue 11 §4: a Basic challenge makes a browser prompt for the token, keep it and send it on its
      // own; Basic credentials that a client sends by itself still work (the other cases here).
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="stitchgraph profile api"');
      expect(res.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    }
  });

  it('refuses a token of another space with a 403, whether or not the profile exists', async () => {
    for (const path of [`${users}/user_id:pa-user/traits`, `${users}/user_id:nobody/traits`]) {
      expect((await get(path, otherToken)).body).toEqual({
        error: { code: 'FORBIDDEN', message: 'This access token belongs to another space.' },
      });
    }
    expect((await get(`${users}/user_id:pa-user/traits`, otherToken)).status).toBe(403);
  });

  it('accepts the token as a Bearer token too', async () => {
    const res = await fetch(`${service.url}${users}/user_id:pa-user/traits?include=plan`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ traits: { plan: 'pro' } });
  });

  it('refuses bad parameters with a coded 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      [`${users}/user_id:pa-user/events?limit=0`, 'limit'],
      [`${users}/user_id:pa-user/events?limit=101`, 'limit'],
      [`${users}/user_id:pa-user/events?limit=ten`, 'limit'],
      [`${users}/user_id:pa-user/traits?limit=201`, 'limit'],
      [`${users}/user_id:pa-user/events?next=bogus`, 'next'],
      [`${users}/user_id:pa-user/events?start=yesterday`, 'start'],
      [`${users}/user_id:pa-user/events?sort=up`, 'sort'],
      [`${users}/user_id:pa-user/events?exclude=Clicked`, 'exclude'],
      [`${users}/user_id:pa-user/traits?verbose=yes`, 'verbose'],
      [`${users}/pa-user/traits`, 'id'],
      [`${accounts}/email:a@b.c/traits`, 'id'],
      [`/v1/spaces/${space}/collections/things/profiles/user_id:pa-user/traits`, 'collection'],
    ];
    for (const [path, field] of cases) {
      const res = await get(path);
      expect({ path, status: res.status, body: res.body }).toEqual({
        path,
        status: 400,
        body: { error: { code: 'VALIDATION_FAILED', message: expect.any(String), field } },
      });
    }
    expect((await get(`${users}/user_id:pa-user/events?limit=500`)).body).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: 'limit must be an integer between 1 and 100, got "500"',
        field: 'limit',
      },
    });
    // A traits cursor is not an events cursor.
    const traits = await get(`${users}/user_id:pa-user/traits?limit=1`);
    const next = (traits.body.cursor as { next: string }).next;
    expect((await get(`${users}/user_id:pa-user/events?next=${next}`)).status).toBe(400);
  });

  it('answers unknown routes with 404 and other methods with 405', async () => {
    expect(await get(`${users}/user_id:pa-user/audiences`)).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    const post = await get(`${users}/user_id:pa-user/traits`, token, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});
