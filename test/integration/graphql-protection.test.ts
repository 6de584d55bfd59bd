// Hostile GraphQL operations (issue 11 §1) against the service as `npm start` runs it, at the default
// limits: each is refused with its code before it can exhaust the process, and the server keeps answering.
import { createHash, randomUUID } from 'node:crypto';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_QUERY } from '../../src/graphql/landing-page.ts';
import type { Service } from '../../src/service.ts';
import { startTestService } from '../support/service.ts';

let service: Service;
const run = randomUUID().slice(0, 8);
const space = `armor-${run}`;
const user = `heavy-${run}`;
let token = '';

/** Events on the heavy profile, each with `properties` of about 30 KB (an event is at most 32 KB). */
const EVENTS = 100;
const PROPERTY_BYTES = 30_000;

beforeAll(async () => {
  service = await startTestService();
  await service.services.spaces.createSpace(space);
  token = (await service.services.spaces.createKey(space, 'token', { scopes: ['write'] })).secret;
  const track = `mutation ($input: TrackInput!) { track(input: $input) { ok error { code message } } }`;
  for (let start = 0; start < EVENTS; start += 10) {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        gql(track, {
          input: {
            userId: user,
            event: 'Big',
            messageId: `${user}-${start + i}`,
            properties: { blob: 'x'.repeat(PROPERTY_BYTES) },
          },
        }),
      ),
    );
    for (const answer of answers) expect(answer.body.data?.track).toEqual({ ok: true, error: null });
  }
});
afterAll(() => service.stop());

async function post(body: Record<string, unknown>) {
  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: Record<string, unknown> | null;
      errors?: { message: string; extensions: { code: string } }[];
    },
  };
}

const gql = (query: string, variables: Record<string, unknown> = {}) => post({ query, variables });

/** The HTTP status and the error codes of an answer. */
async function refusal(query: string) {
  const { status, body } = await gql(query);
  return { status, codes: body.errors?.map((e) => e.extensions.code) };
}

/** n aliased copies of `field`. */
const aliases = (n: number, field: string) =>
  Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join('\n');

async function stillAnswering() {
  expect(await gql('{ version }')).toEqual({ status: 200, body: { data: { version: '0.1.0' } } });
}

describe('introspection', () => {
  it('refuses 15,000 aliases of __schema before running them, and keeps answering', async () => {
    // The request that blocked the event loop for 40 s and then ran the process out of memory.
    const query = `{ ${aliases(15_000, '__schema { types { name fields { name } } }')} }`;
    expect(await refusal(query)).toEqual({ status: 400, codes: ['TOO_MANY_TOKENS'] });
    await stillAnswering();
  });

  it('refuses aliased __schema fields past the alias limit, however few tokens they take', async () => {
    expect(await refusal(`{ ${aliases(31, '__schema { types { name } }')} }`)).toEqual({
      status: 400,
      codes: ['TOO_MANY_ALIASES'],
    });
    await stillAnswering();
  });

  it("answers the standard introspection query and the landing page's schema query", async () => {
    for (const query of [
      getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }),
      SCHEMA_QUERY,
    ]) {
      const { status, body } = await gql(query);
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      const schema = body.data?.__schema as { types: { name: string }[] };
      expect(schema.types.map((t) => t.name)).toContain('Profile');
    }
  });

  it('refuses introspection nested past its own depth limit', async () => {
    const ofType = (n: number): string => (n === 0 ? 'name' : `ofType { ${ofType(n - 1)} }`);
    expect(await refusal(`{ __schema { types { fields { type { ${ofType(16)} } } } } }`)).toEqual({
      status: 400,
      codes: ['QUERY_TOO_DEEP'],
    });
  });
});

describe('document limits', () => {
  it('refuses a document over the token limit', async () => {
    expect(await refusal(`{ ${'version '.repeat(2_000)} }`)).toEqual({
      status: 400,
      codes: ['TOO_MANY_TOKENS'],
    });
  });

  it('refuses an operation over the directive limit', async () => {
    expect(await refusal(`{ ${aliases(26, 'version @include(if: true) @skip(if: false)')} }`)).toEqual({
      status: 400,
      codes: ['TOO_MANY_DIRECTIVES'],
    });
  });

  it('refuses an operation nested too deep', async () => {
    let deep = 'groupId';
    for (let i = 0; i < 6; i++) deep = `members(first: 1) { nodes { accounts { ${deep} } } }`;
    expect(await refusal(`{ account(groupId: "x") { ${deep} } }`)).toEqual({
      status: 400,
      codes: ['QUERY_TOO_DEEP'],
    });
  });
});

describe('amplification', () => {
  const events = (n: number) =>
    `{ ${aliases(n, `profile(by: { type: "user_id", value: "${user}" }) { events(first: ${EVENTS}) { nodes { properties } } }`)} }`;

  it('prices events by the JSON they can return: a few aliases of 100 events with properties cost too much', async () => {
    // Each alias costs 3,302 (32 per `properties`): 7 of them are over 20,000. They used to cost 202 each.
    expect(await refusal(events(7))).toEqual({ status: 400, codes: ['QUERY_TOO_COSTLY'] });
    await stillAnswering();
  });

  it('refuses an answer over the response size limit, and sends one under it', async () => {
    // 3 × 100 × 30 KB is about 9 MB, under 10 MiB; 4 × is about 12 MB.
    const under = await gql(events(3));
    expect(under.status).toBe(200);
    const page = under.body.data?.a2 as { events: { nodes: { properties: { blob: string } }[] } };
    expect(page.events.nodes).toHaveLength(EVENTS);
    expect(page.events.nodes[0]?.properties.blob).toHaveLength(PROPERTY_BYTES);
    expect(await gql(events(4))).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message:
              'The answer is over the limit of 10485760 bytes: ask for smaller pages (`first`) or fewer fields, and page through the rest.',
            extensions: { code: 'RESPONSE_TOO_LARGE' },
          },
        ],
      },
    });
    await stillAnswering();
  });
});

describe('operations Apollo refused without a code', () => {
  it('answers a subscription over HTTP with 400 OPERATION_NOT_SUPPORTED, not INTERNAL_SERVER_ERROR', async () => {
    expect(await refusal('subscription { audienceChanges(key: "any") { entered } }')).toEqual({
      status: 400,
      codes: ['OPERATION_NOT_SUPPORTED'],
    });
  });

  it('answers a persisted query whose hash does not match with 400 PERSISTED_QUERY_HASH_MISMATCH', async () => {
    const query = '{ version }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const mismatch = await post({
      query,
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hash.replace(/^./, 'x') } },
    });
    expect(mismatch).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message: 'provided sha does not match query',
            extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' },
          },
        ],
      },
    });
    // Registering it with the right hash, then sending the hash alone, works as Apollo documents.
    expect(await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } })).toMatchObject({
      status: 200,
    });
    expect(await post({ extensions: { persistedQuery: { version: 1, sha256Hash } } })).toEqual({
      status: 200,
      body: { data: { version: '0.1.0' } },
    });
  });
});
