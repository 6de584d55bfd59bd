// The service as a user meets it: started by startService (as `npm start` does), spoken to over HTTP.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { startTestService } from '../support/service.ts';

let service: Service;
const logs: string[] = [];
const run = randomUUID().slice(0, 8);
const space = `api-${run}`;
let token = '';

beforeAll(async () => {
  service = await startTestService({}, (line) => logs.push(line));
  await service.services.spaces.createSpace(space);
  token = (await service.services.spaces.createKey(space, 'token', { scopes: ['write', 'admin'] })).secret;
});
afterAll(() => service.stop());

async function gql(query: string, variables: Record<string, unknown> = {}, secret: string | null = token) {
  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] },
  };
}

describe('HTTP endpoints', () => {
  it('answers /healthz and /readyz', async () => {
    const health = await fetch(`${service.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      neo4j: 'reachable',
      postgres: 'reachable',
      migrations: 'applied',
    });
  });

  it('answers unknown paths with a coded 404', async () => {
    const res = await fetch(`${service.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for /nope' } });
  });

  it('refuses a body that is not JSON with a coded 400', async () => {
    const res = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
    });
  });
});

describe('GraphQL', () => {
  it('answers a query', async () => {
    expect(await gql('{ version }')).toEqual({ status: 200, body: { data: { version: '0.1.0' } } });
  });

  it('ingests events and serves the resulting profile', async () => {
    const user = `api-${run}`;
    const identify = await gql(
      `mutation ($input: IdentifyInput!) {
        identify(input: $input) { ok duplicate messageId profileId error { code } violations { code } }
      }`,
      { input: { userId: user, messageId: `${user}-1`, traits: { email: `${user}@X.com`, plan: 'pro' } } },
    );
    expect(identify.body.data?.identify).toEqual({
      ok: true,
      duplicate: false,
      messageId: `${user}-1`,
      profileId: expect.any(String),
      error: null,
      violations: [],
    });
    const group = await gql(`mutation ($input: GroupInput!) { group(input: $input) { ok } }`, {
      input: { userId: user, groupId: `acct-${run}`, traits: { name: 'Acme' } },
    });
    expect(group.body.data?.group).toEqual({ ok: true });
    const profile = await gql(
      `query ($by: IdentifierInput!) {
        profile(by: $by) { id identifiers { type value } traits accounts { groupId traits } }
      }`,
      { by: { type: 'email', value: `${user}@x.com` } },
    );
    expect(profile.body.data?.profile).toEqual({
      id: (identify.body.data?.identify as { profileId: string }).profileId,
      identifiers: [
        { type: 'email', value: `${user}@x.com` },
        { type: 'user_id', value: user },
      ],
      traits: { email: `${user}@X.com`, plan: 'pro' },
      accounts: [{ groupId: `acct-${run}`, traits: { name: 'Acme' } }],
    });
  });

  it('reports refusals as data with code and path', async () => {
    const res = await gql(
      `mutation ($input: TrackInput!) { track(input: $input) { ok error { code message path } } }`,
      { input: { userId: `x-${run}`, event: ' ' } },
    );
    expect(res.body.data?.track).toEqual({
      ok: false,
      error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/event/), path: ['event'] },
    });
  });

  // Changed on purpose (issue 10, case 11): a timestamp without a timezone is not used, and the event is
  // applied with a warning (SEMANTICS.md §8), where it used to be refused.
  it('reports an untrusted time field as a warning and applies the event', async () => {
    const res = await gql(
      `mutation ($input: TrackInput!) { track(input: $input) { ok error { code } warnings { code message path } } }`,
      { input: { userId: `x-${run}`, event: 'E', timestamp: '2026-01-01T10:00:00' } },
    );
    expect(res.body.data?.track).toEqual({
      ok: true,
      error: null,
      warnings: [
        { code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/timezone/i), path: ['timestamp'] },
      ],
    });
  });

  it('runs a batch with per-item results', async () => {
    const res = await gql(
      `mutation ($input: BatchInput!) {
        batch(input: $input) { applied duplicates refused error { code } results { ok error { code path } } }
      }`,
      {
        input: {
          batch: [
            { type: 'track', userId: `b-${run}`, event: 'E' },
            { type: 'group', userId: `b-${run}`, groupId: '' },
          ],
        },
      },
    );
    expect(res.body.data?.batch).toEqual({
      applied: 1,
      duplicates: 0,
      refused: 1,
      error: null,
      results: [
        { ok: true, error: null },
        { ok: false, error: { code: 'VALIDATION_FAILED', path: ['batch', 1, 'groupId'] } },
      ],
    });
  });

  it('reads and validates identity rules', async () => {
    const rules = await gql('{ identityRules { type priority limit window blockedValues { value match } } }');
    const list = rules.body.data?.identityRules as { type: string; priority: number; limit: number }[];
    expect(list.slice(0, 2)).toEqual([
      expect.objectContaining({ type: 'user_id', priority: 1, limit: 1, window: 'EVER' }),
      expect.objectContaining({ type: 'email', priority: 2, limit: 5, window: 'EVER' }),
    ]);
    const bad = await gql(
      `mutation ($rules: [IdentifierRuleInput!]!) { setIdentityRules(rules: $rules) { ok errors { code path } } }`,
      {
        rules: [
          { type: 'user_id', priority: 1, limit: 0 },
          // RE2 has no lookaround (docs/adr/0014-input-hygiene.md).
          { type: 'email', priority: 1, limit: 5, blockedValues: [{ value: '(?=a)b', match: 'REGEX' }] },
        ],
      },
    );
    const result = bad.body.data?.setIdentityRules as {
      ok: boolean;
      errors: { code: string; path: unknown[] }[];
    };
    expect(result.ok).toBe(false);
    expect(result.errors.map((e) => e.path)).toEqual(
      expect.arrayContaining([
        ['rules', 0, 'limit'],
        ['rules', 1, 'blockedValues', 0, 'value'],
      ]),
    );
    expect(result.errors.every((e) => e.code === 'VALIDATION_FAILED')).toBe(true);
  });

  it('reports unknown fields with a GraphQL validation code', async () => {
    const unknown = await gql('{ nope }');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) }),
    ]);
  });
});

describe('protection', () => {
  it('serves the offline landing page to browsers', async () => {
    const res = await fetch(`${service.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('<textarea');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('refuses a query nested too deep, and one too costly, with codes', async () => {
    let deep = 'groupId';
    for (let i = 0; i < 6; i++) deep = `members(first: 1) { nodes { accounts { ${deep} } } }`;
    const tooDeep = await gql(`{ account(groupId: "x") { ${deep} } }`);
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_DEEP' }) }),
    ]);
    const costly = await gql(
      '{ profiles(first: 100) { nodes { events(first: 100) { nodes { type properties context } } } } }',
    );
    expect(costly.status).toBe(400);
    expect(costly.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_COSTLY' }) }),
    ]);
  });

  it('never sends stack traces to clients', async () => {
    const res = await gql('{ profiles(first: 101) { nodes { id } } }');
    expect(res.body.errors).toEqual([
      {
        message: 'first must be between 0 and 100, got 101',
        locations: expect.any(Array),
        path: ['profiles'],
        extensions: { code: 'VALIDATION_FAILED', field: ['first'] },
      },
    ]);
  });
});

describe('spaces and keys', () => {
  it('refuses GraphQL without a token, with an unknown one, and with a write key', async () => {
    const writeKey = (await service.services.spaces.createKey(space, 'write')).secret;
    for (const secret of [null, 'sgt_not-a-real-token', writeKey]) {
      const res = await gql('{ version }', {}, secret);
      expect(res.status).toBe(401);
      expect(res.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })]);
    }
  });

  it('lets a read token read but not write, and only an admin token change rules', async () => {
    const reader = (await service.services.spaces.createKey(space, 'token')).secret;
    const writer = (await service.services.spaces.createKey(space, 'token', { scopes: ['write'] })).secret;
    expect((await gql('{ version }', {}, reader)).body).toEqual({ data: { version: '0.1.0' } });
    const write = await gql('mutation { track(input: { userId: "r", event: "E" }) { ok } }', {}, reader);
    expect(write.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'FORBIDDEN' } })]);
    const rules = `mutation { setIdentityRules(rules: [{ type: "user_id", priority: 1, limit: 1 }]) { ok } }`;
    const denied = await gql(rules, {}, writer);
    expect(denied.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'FORBIDDEN' } })]);
  });

  it('keeps spaces apart: a token of one space neither reads nor writes another', async () => {
    const other = `other-${run}`;
    await service.services.spaces.createSpace(other);
    const otherToken = (await service.services.spaces.createKey(other, 'token', { scopes: ['write'] }))
      .secret;
    await gql('mutation { identify(input: { userId: "iso-1", traits: { side: "mine" } }) { ok } }');
    await gql(
      'mutation { identify(input: { userId: "iso-1", traits: { side: "theirs" } }) { ok } }',
      {},
      otherToken,
    );
    const mine = await gql('{ profile(by: { type: "user_id", value: "iso-1" }) { traits } }');
    const theirs = await gql(
      '{ profile(by: { type: "user_id", value: "iso-1" }) { traits } }',
      {},
      otherToken,
    );
    expect(mine.body.data).toEqual({ profile: { traits: { side: 'mine' } } });
    expect(theirs.body.data).toEqual({ profile: { traits: { side: 'theirs' } } });
  });

  it('stops accepting a revoked token', async () => {
    const created = await service.services.spaces.createKey(space, 'token');
    expect((await gql('{ version }', {}, created.secret)).status).toBe(200);
    expect(await service.services.spaces.revokeKey(created.key.id)).toBe(true);
    expect((await gql('{ version }', {}, created.secret)).status).toBe(401);
  });
});
