// The read API over GraphQL against the real Neo4j (issue #4): every field, paging, limits, round trips.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createServices } from '../../src/services.ts';
import { openTestGraph, uniqueSpace, type TestGraph } from '../support/graph.ts';

let t: TestGraph;
let app: App;
let url: string;
let token: string;
const space = uniqueSpace('read');

beforeAll(async () => {
  t = await openTestGraph();
  const services = createServices(t.graph, t.db);
  await services.spaces.createSpace(space);
  app = await createApp({
    graph: t.graph,
    database: t.db,
    services,
    logger: createLogger('error'),
    graphql: loadConfig({}).graphql,
  });
  token = (await services.spaces.createKey(space, 'token', { scopes: ['write'] })).secret;
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/graphql`;
  app.setReady(true);
});
afterAll(async () => {
  await app.close();
  await t.close();
});

interface Response {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Response;
}

async function send(type: string, input: Record<string, unknown>): Promise<string> {
  const field = type;
  const inputType = `${type[0]?.toUpperCase()}${type.slice(1)}Input`;
  const res = await gql(
    `mutation ($input: ${inputType}!) { ${field}(input: $input) { ok profileId error { code } } }`,
    {
      input,
    },
  );
  const result = res.data?.[field] as { ok: boolean; profileId: string | null; error: unknown };
  expect(result, JSON.stringify(res)).toMatchObject({ ok: true });
  return String(result.profileId);
}

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

describe('profile lookups', () => {
  it('finds a profile by a normalised identifier and by id; unknown ones are null', async () => {
    const id = await send('identify', { userId: 'look-1', traits: { email: 'Look@X.com' } });
    const res = await gql(
      `query ($id: ID!) {
        a: profile(by: { type: "email", value: " LOOK@x.com" }) { id }
        b: profileById(id: $id) { id }
        c: profile(by: { type: "email", value: "nobody@x.com" }) { id }
        d: profileById(id: "no-such-profile") { id }
      }`,
      { id },
    );
    expect(res).toEqual({ data: { a: { id }, b: { id }, c: null, d: null } });
  });

  it('answers a merged-away id with the surviving profile, and lists the merge', async () => {
    const older = await send('track', {
      anonymousId: 'mg-a',
      event: 'A',
      messageId: 'mg-1',
      timestamp: at(1),
    });
    const newer = await send('track', { userId: 'mg-u', event: 'B', messageId: 'mg-2', timestamp: at(2) });
    await send('identify', { userId: 'mg-u', anonymousId: 'mg-a', messageId: 'mg-join', timestamp: at(3) });
    const res = await gql(
      `query ($id: ID!) {
        profileById(id: $id) {
          id
          merges { profileId messageId reason identifiers { type value } at }
          identifiers { type value messageId firstSeen addedAt }
        }
      }`,
      { id: newer },
    );
    expect(res.data?.profileById).toEqual({
      id: older,
      merges: [
        {
          profileId: newer,
          messageId: 'mg-join',
          reason: 'event carried user_id:mg-u, anonymous_id:mg-a',
          identifiers: [{ type: 'user_id', value: 'mg-u' }],
          at: expect.any(String),
        },
      ],
      identifiers: [
        { type: 'anonymous_id', value: 'mg-a', messageId: 'mg-1', firstSeen: at(1), addedAt: at(1) },
        { type: 'user_id', value: 'mg-u', messageId: 'mg-2', firstSeen: at(2), addedAt: at(2) },
      ],
    });
  });
});

describe('profile fields', () => {
  it('serves traits, one trait with provenance, accounts, violations and metadata', async () => {
    await send('identify', {
      userId: 'f-1',
      traits: { plan: 'pro', seats: 3 },
      messageId: 'f-m1',
      timestamp: at(10),
    });
    await send('identify', { userId: 'f-1', traits: { plan: 'team' }, messageId: 'f-m2', timestamp: at(11) });
    await send('group', { userId: 'f-1', groupId: 'f-acme', traits: { name: 'Acme' }, timestamp: at(12) });
    await send('identify', { userId: 'f-other', anonymousId: 'f-anon', timestamp: at(13) });
    await send('track', {
      userId: 'f-1',
      anonymousId: 'f-anon',
      event: 'Shared',
      messageId: 'f-m3',
      timestamp: at(14),
    });
    const res = await gql(`{
      profile(by: { type: "user_id", value: "f-1" }) {
        traits
        plan: trait(key: "plan") { key value updatedAt messageId }
        missing: trait(key: "nope") { key }
        accounts { groupId traits memberCount }
        violations { code identifier { type value } messageId timestamp }
        metadata { firstEventAt lastEventAt firstSeenAt lastSeenAt }
      }
    }`);
    const profile = res.data?.profile as Record<string, unknown>;
    expect(profile).toMatchObject({
      traits: { plan: 'team', seats: 3 },
      plan: { key: 'plan', value: 'team', updatedAt: at(11), messageId: 'f-m2' },
      missing: null,
      accounts: [{ groupId: 'f-acme', traits: { name: 'Acme' }, memberCount: 1 }],
      violations: [
        {
          code: 'LIMIT_EXCEEDED',
          identifier: { type: 'anonymous_id', value: 'f-anon' },
          messageId: 'f-m3',
          timestamp: at(14),
        },
      ],
      metadata: { firstEventAt: at(10), lastEventAt: at(14) },
    });
    const meta = profile.metadata as Record<string, string>;
    expect(Date.parse(String(meta.firstSeenAt))).toBeLessThanOrEqual(Date.parse(String(meta.lastSeenAt)));
  });
});

describe('event histories', () => {
  const EVENTS = 45;
  let profileId = '';

  beforeAll(async () => {
    // Two profiles' histories, merged by the last event: paging must read them as one.
    for (let i = 0; i < EVENTS - 1; i++) {
      const who = i % 2 === 0 ? { userId: 'h-user' } : { anonymousId: 'h-anon' };
      await send('track', {
        ...who,
        event: i % 3 === 0 ? 'Viewed' : 'Clicked',
        messageId: `h-${i}`,
        timestamp: at(100 + i),
        properties: { i },
      });
    }
    profileId = await send('identify', {
      userId: 'h-user',
      anonymousId: 'h-anon',
      messageId: 'h-join',
      timestamp: at(100 + EVENTS),
    });
  });

  const page = `query ($id: ID!, $first: Int!, $after: String, $order: EventOrder, $types: [EventType!], $names: [String!], $since: DateTime, $until: DateTime) {
    profileById(id: $id) {
      events(first: $first, after: $after, order: $order, types: $types, names: $names, since: $since, until: $until) {
        edges { cursor node { messageId type event properties timestamp receivedAt context } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`;

  async function readAll(variables: Record<string, unknown>): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res = await gql(page, { id: profileId, first: 20, ...variables, after });
      const events = (
        res.data?.profileById as {
          events: {
            edges: { node: { messageId: string } }[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        }
      ).events;
      pages++;
      ids.push(...events.edges.map((e) => e.node.messageId));
      if (!events.pageInfo.hasNextPage) return { ids, pages };
      after = events.pageInfo.endCursor;
    }
  }

  it('pages through the whole merged history, newest first, with no gaps or repeats', async () => {
    const { ids, pages } = await readAll({});
    expect(pages).toBe(3);
    expect(ids).toEqual(['h-join', ...Array.from({ length: EVENTS - 1 }, (_, i) => `h-${EVENTS - 2 - i}`)]);
  });

  it('serves every field of an event', async () => {
    const res = await gql(page, { id: profileId, first: 1, order: 'OLDEST_FIRST' });
    const node = (res.data?.profileById as { events: { edges: { node: Record<string, unknown> }[] } }).events
      .edges[0]?.node;
    expect(node).toEqual({
      messageId: 'h-0',
      type: 'track',
      event: 'Viewed',
      properties: { i: 0 },
      timestamp: at(100),
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      context: {},
    });
  });

  it('pages oldest first and filters by type, name and time', async () => {
    const oldest = await readAll({ order: 'OLDEST_FIRST', types: ['track'] });
    expect(oldest.ids).toEqual(Array.from({ length: EVENTS - 1 }, (_, i) => `h-${i}`));
    const viewed = await readAll({ names: ['Viewed'], since: at(103), until: at(112) });
    expect(viewed.ids).toEqual(['h-9', 'h-6', 'h-3']);
  });

  it('keeps a cursor stable while new events arrive', async () => {
    const first = await gql(page, { id: profileId, first: 10 });
    const events = (first.data?.profileById as { events: { pageInfo: { endCursor: string } } }).events;
    await send('track', { userId: 'h-user', event: 'Late', messageId: 'h-late', timestamp: at(500) });
    const next = await gql(page, { id: profileId, first: 10, after: events.pageInfo.endCursor });
    const ids = (
      next.data?.profileById as { events: { edges: { node: { messageId: string } }[] } }
    ).events.edges.map((e) => e.node.messageId);
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => `h-${EVENTS - 11 - i}`));
  });

  it('refuses a page over 100 and a foreign cursor with coded errors', async () => {
    const big = await gql(page, { id: profileId, first: 101 });
    expect(big.errors).toEqual([
      expect.objectContaining({
        message: 'first must be between 0 and 100, got 101',
        extensions: expect.objectContaining({ code: 'VALIDATION_FAILED', field: ['first'] }),
      }),
    ]);
    const bad = await gql(page, { id: profileId, first: 5, after: 'bm90LWEtY3Vyc29y' });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: ['after'] });
  });
});

describe('searching profiles', () => {
  beforeAll(async () => {
    for (let i = 0; i < 7; i++) {
      await send('identify', {
        userId: `s-${i}`,
        traits: { tier: i < 3 ? 'gold' : 'silver', company: i % 2 === 0 ? 'Acme Ltd' : 'Globex', score: i },
        ...(i === 6
          ? {
              context: {
                externalIds: [{ id: 'x-6', type: 'crm_id', collection: 'users', encoding: 'none' }],
              },
            }
          : {}),
        timestamp: at(1000 + i),
      });
    }
  });

  async function search(where: Record<string, unknown>, first = 20, after: string | null = null) {
    const res = await gql(
      `query ($where: ProfileFilter, $first: Int!, $after: String) {
        profiles(where: $where, first: $first, after: $after) {
          nodes { identifiers { value } }
          pageInfo { hasNextPage endCursor }
        }
      }`,
      { where, first, after },
    );
    const conn = res.data?.profiles as {
      nodes: { identifiers: { value: string }[] }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
    return {
      users: conn.nodes.map((n) => n.identifiers.map((i) => i.value).filter((v) => v.startsWith('s-'))[0]),
      pageInfo: conn.pageInfo,
    };
  }

  it('filters by trait equality, prefix and existence, identifier type and time seen', async () => {
    expect((await search({ trait: { key: 'tier', equals: 'gold' } })).users).toEqual(['s-0', 's-1', 's-2']);
    expect((await search({ trait: { key: 'score', equals: 4 } })).users).toEqual(['s-4']);
    expect((await search({ trait: { key: 'company', prefix: 'Acme' }, seenAfter: at(1002) })).users).toEqual([
      's-2',
      's-4',
      's-6',
    ]);
    expect((await search({ identifierType: 'crm_id' })).users).toEqual(['s-6']);
    expect((await search({ trait: { key: 'tier', exists: true }, seenBefore: at(1002) })).users).toEqual([
      's-0',
      's-1',
    ]);
  });

  it('pages with a cursor', async () => {
    const one = await search({ trait: { key: 'tier', exists: true } }, 4);
    expect(one.users).toEqual(['s-0', 's-1', 's-2', 's-3']);
    expect(one.pageInfo.hasNextPage).toBe(true);
    const two = await search({ trait: { key: 'tier', exists: true } }, 4, one.pageInfo.endCursor);
    expect(two.users).toEqual(['s-4', 's-5', 's-6']);
    expect(two.pageInfo.hasNextPage).toBe(false);
  });
});

describe('accounts', () => {
  it('pages through members and counts them', async () => {
    for (let i = 0; i < 5; i++)
      await send('group', { userId: `m-${i}`, groupId: 'm-acme', traits: { plan: 'enterprise' } });
    const res = await gql(`{
      account(groupId: "m-acme") {
        groupId traits memberCount createdAt
        members(first: 3) { nodes { identifiers { value } } pageInfo { hasNextPage endCursor } }
      }
    }`);
    const account = res.data?.account as {
      memberCount: number;
      traits: unknown;
      members: {
        nodes: { identifiers: { value: string }[] }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
    expect(account).toMatchObject({ memberCount: 5, traits: { plan: 'enterprise' } });
    expect(account.members.nodes.map((n) => n.identifiers[0]?.value)).toEqual(['m-0', 'm-1', 'm-2']);
    const next = await gql(
      `query ($after: String) { account(groupId: "m-acme") { members(first: 3, after: $after) { nodes { identifiers { value } } pageInfo { hasNextPage } } } }`,
      {
        after: account.members.pageInfo.endCursor,
      },
    );
    expect(next.data?.account).toEqual({
      members: {
        nodes: [{ identifiers: [{ value: 'm-3' }] }, { identifiers: [{ value: 'm-4' }] }],
        pageInfo: { hasNextPage: false },
      },
    });
  });
});

describe('round trips', () => {
  const pageQuery = `
    identifiers { type value }
    traits
    events(first: 20) { nodes { messageId event } }
    accounts { groupId }
    merges { profileId }`;

  it('a profile page costs a fixed number of calls to each store, however many profiles and items', async () => {
    for (let i = 0; i < 20; i++) {
      await send('identify', { userId: `rt-${i}`, anonymousId: `rt-a-${i}`, traits: { rt: true } });
      for (let k = 0; k < 3; k++) await send('track', { userId: `rt-${i}`, event: `E${k}` });
      await send('group', { userId: `rt-${i}`, groupId: `rt-g-${i % 4}` });
    }
    t.queries.length = 0;
    const one = await gql(`{ profile(by: { type: "user_id", value: "rt-3" }) { ${pageQuery} } }`);
    expect(one.errors).toBeUndefined();
    // Only the read path counts: a request may also refresh the token's cached authentication.
    const reads = (q: string) => q.startsWith('profiles/') || q.startsWith('events/');
    const single = t.queries.filter(reads);
    t.queries.length = 0;
    const many = await gql(
      `{ profiles(where: { trait: { key: "rt", exists: true } }, first: 20) { nodes { ${pageQuery} } } }`,
    );
    expect((many.data?.profiles as { nodes: unknown[] }).nodes).toHaveLength(20);
    const twenty = t.queries.filter(reads);
    expect([...single].sort()).toEqual(
      [
        'profiles/find-profile-by-identifier',
        'profiles/load-identifiers',
        'events/load-event-pages',
        'events/load-events-by-id',
        'profiles/load-accounts',
        'profiles/load-merges',
      ].sort(),
    );
    expect(twenty.length).toBe(single.length);
  });
});
