// Audiences through the real service (SEMANTICS.md §10, docs/adr/0022-audiences.md): the GraphQL mutations
// and queries, membership in real time, its history, a profile's and an account's audiences, preview,
// a changed definition, refusals (circles, keys, scopes), deletion, and the Profile API's
// `class=audience`. The service's own worker evaluates with the real clock; answers are polled with a
// timeout, never waited for with sleeps.
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { poll, postGraphQL } from '../support/api.ts';
import { startTestService } from '../support/service.ts';

let service: Service;
let t: TestGraph;
const run = randomUUID().slice(0, 8);
const space = `audapi-${run}`;
let admin = '';
let reader = '';
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

const gql = (query: string, variables: Record<string, unknown> = {}, secret = admin) =>
  postGraphQL(service.url, secret, query, variables);

async function call(kind: 'track' | 'identify' | 'group', input: Record<string, unknown>): Promise<void> {
  const type = { track: 'TrackInput', identify: 'IdentifyInput', group: 'GroupInput' }[kind];
  const res = await gql(`mutation ($input: ${type}!) { ${kind}(input: $input) { ok } }`, { input });
  expect(res, JSON.stringify(res)).toEqual({ data: { [kind]: { ok: true } } });
}

const order = (userId: string, n: number, total: number) =>
  call('track', {
    userId,
    event: 'Order Completed',
    messageId: `${run}-${userId}-o${n}`,
    properties: { total },
  });

const CREATE = `mutation ($input: CreateAudienceInput!) {
  createAudience(input: $input) {
    ok
    audience { key definition level includeAnonymous description status progress }
    errors { code message path }
  }
}`;

const AUDIENCE = `query ($key: String!) {
  audience(key: $key) {
    status
    size
    members(first: 10) { nodes { profile { id } account { groupId } since } pageInfo { hasNextPage endCursor } }
    changes(first: 10) { nodes { subjectId entered at cause messageId profile { id } } pageInfo { hasNextPage } }
  }
}`;

interface AudienceAnswer {
  status: string;
  size: number;
  members: {
    nodes: { profile: { id: string } | null; account: { groupId: string } | null; since: string }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
  changes: {
    nodes: {
      subjectId: string;
      entered: boolean;
      at: string;
      cause: string;
      messageId: string | null;
      profile: { id: string } | null;
    }[];
    pageInfo: { hasNextPage: boolean };
  };
}

async function audience(key: string): Promise<AudienceAnswer | null> {
  const res = await gql(AUDIENCE, { key });
  expect(res.errors, JSON.stringify(res)).toBeUndefined();
  return (res.data?.audience as AudienceAnswer | null) ?? null;
}

async function profileId(userId: string): Promise<string> {
  const res = await gql(`query ($u: String!) { profile(by: { type: "user_id", value: $u }) { id } }`, {
    u: userId,
  });
  return (res.data?.profile as { id: string }).id;
}

/** The audiences the graph shows a profile (or an account) in: its IN_AUDIENCE edges, for Neo4j Browser. */
async function graphAudiences(match: string, id: string): Promise<string[]> {
  const found = await t.driver.executeQuery(
    `MATCH ${match}-[r:IN_AUDIENCE]->(a:Audience {space: $space}) RETURN a.key AS key, r.since AS since ORDER BY key`,
    { space, id },
    { database: inject('neo4j').database },
  );
  return found.records.map((r) => String(r.get('key')));
}

beforeAll(async () => {
  t = await openTestGraph();
  service = await startTestService();
  const { spaces } = service.services;
  await spaces.createSpace(space);
  admin = (await spaces.createKey(space, 'token', { scopes: ['write', 'admin'] })).secret;
  reader = (await spaces.createKey(space, 'token')).secret;
  await call('identify', { userId: 'ann', messageId: `${run}-ann`, traits: { plan: 'pro' } });
  await call('identify', { userId: 'bob', messageId: `${run}-bob`, traits: { plan: 'free' } });
  await order('ann', 1, 80);
  await order('ann', 2, 50);
  await order('bob', 1, 20);
});
afterAll(async () => {
  await service.stop();
  await t.close();
});

describe('audiences over GraphQL', () => {
  it('computes the history, then follows events and traits, recording each entry and exit', async () => {
    const created = await gql(CREATE, {
      input: {
        key: 'big_spenders',
        definition: "event('Order Completed').sum(property('total')) >= 100",
        description: 'Spent 100 or more',
      },
    });
    expect(created).toEqual({
      data: {
        createAudience: {
          ok: true,
          audience: {
            key: 'big_spenders',
            definition: "event('Order Completed').sum(property('total')) >= 100",
            level: 'USERS',
            includeAnonymous: false,
            description: 'Spent 100 or more',
            status: expect.stringMatching(/^(COMPUTING|LIVE)$/),
            progress: expect.any(Number),
          },
          errors: [],
        },
      },
    });
    const ann = await profileId('ann');
    const bob = await profileId('bob');
    const live = await poll(
      () => audience('big_spenders'),
      (a) => a?.status === 'LIVE' && a.size === 1,
    );
    expect(live).toMatchObject({
      status: 'LIVE',
      size: 1,
      members: {
        nodes: [{ profile: { id: ann }, account: null, since: ISO }],
        pageInfo: { hasNextPage: false },
      },
      changes: {
        nodes: [{ subjectId: ann, entered: true, cause: 'backfill', messageId: null, profile: { id: ann } }],
      },
    });

    // An audience of audiences, over a custom trait: pro big spenders.
    const pro = await gql(CREATE, {
      input: {
        key: 'pro_big_spenders',
        definition: "trait('big_spenders') = true AND trait('plan') = 'pro'",
      },
    });
    expect(pro.data?.createAudience).toMatchObject({ ok: true });
    // Its backfill records entries too (cause backfill); the changes below are the ones after it.
    await poll(
      () => audience('pro_big_spenders'),
      (a) => a?.status === 'LIVE',
    );

    // Bob's order brings him in, with the order as the cause; his identify as pro brings him into the next.
    await order('bob', 2, 90);
    await poll(
      () => audience('big_spenders'),
      (a) => a?.size === 2,
    );
    const bobIn = await audience('big_spenders'); // read again: size and changes are separate statements
    expect(bobIn?.changes.nodes[0]).toEqual({
      subjectId: bob,
      entered: true,
      at: ISO,
      cause: 'event',
      // Marks coalesce (docs/adr/0021, "What a change's cause says"): when the mark of Bob's first order
      // is still pending as the second arrives, one recomputation covers both and names one of them.
      messageId: expect.stringMatching(new RegExp(`^${run}-bob-o[12]$`)),
      profile: { id: bob },
    });
    await call('identify', { userId: 'bob', messageId: `${run}-bob-pro`, traits: { plan: 'pro' } });
    await poll(
      () => audience('pro_big_spenders'),
      (a) => a?.size === 2,
    );
    const bothPro = await audience('pro_big_spenders'); // read again: size and changes are separate statements
    expect(bothPro?.changes.nodes[0]).toMatchObject({ subjectId: bob, entered: true, cause: 'trait' });

    const memberships = await gql(
      `{ profile(by: { type: "user_id", value: "bob" }) { audiences { key since } } }`,
      {},
      reader,
    );
    expect(memberships.data).toEqual({
      profile: {
        audiences: [
          { key: 'big_spenders', since: ISO },
          { key: 'pro_big_spenders', since: ISO },
        ],
      },
    });

    // Back to free: out of pro_big_spenders, an exit.
    await call('identify', { userId: 'bob', messageId: `${run}-bob-free`, traits: { plan: 'free' } });
    await poll(
      () => audience('pro_big_spenders'),
      (a) => a?.size === 1,
    );
    const bobOut = await audience('pro_big_spenders'); // read again: size and changes are separate statements
    expect(bobOut?.changes.nodes[0]).toMatchObject({ subjectId: bob, entered: false, cause: 'trait' });

    // Neo4j Browser shows the memberships as IN_AUDIENCE edges, following entries and exits.
    const profileEdges = (id: string) => graphAudiences('(:Profile {id: $id})', id);
    expect(
      await poll(
        () => profileEdges(bob),
        (keys) => keys.length === 1,
      ),
    ).toEqual(['big_spenders']);
    expect(
      await poll(
        () => profileEdges(ann),
        (keys) => keys.length === 2,
      ),
    ).toEqual(['big_spenders', 'pro_big_spenders']);
  });

  it("answers the Profile API's traits with class=audience, and with every class without one", async () => {
    const api = async (query: string) => {
      const res = await fetch(
        `${service.url}/v1/spaces/${space}/collections/users/profiles/user_id:ann/traits${query}`,
        { headers: { authorization: `Basic ${Buffer.from(`${reader}:`).toString('base64')}` } },
      );
      expect(res.status).toBe(200);
      return ((await res.json()) as { traits: Record<string, unknown> }).traits;
    };
    expect(await api('?class=audience')).toEqual({ big_spenders: true, pro_big_spenders: true });
    expect(await api('?limit=20')).toEqual({ big_spenders: true, plan: 'pro', pro_big_spenders: true });
    expect(await api('?class=custom_trait')).toEqual({ plan: 'pro' });
    // Entries and exits are audiences' history, not computed-trait changes.
    const own = await gql(
      `{ profile(by: { type: "user_id", value: "ann" }) { computedTraitChanges { key } } }`,
    );
    expect(own.data).toEqual({ profile: { computedTraitChanges: [] } });
  });

  it('previews a draft without writing it: the size and a sample', async () => {
    const preview = await gql(
      `query ($input: PreviewAudienceInput!) {
        previewAudience(input: $input) { ok size sample { profile { id } } errors { code path } }
      }`,
      { input: { definition: "event('Order Completed').count() >= 2", sample: 5 } },
      reader,
    );
    const ids = [await profileId('ann'), await profileId('bob')].sort();
    expect(preview.data).toEqual({
      previewAudience: { ok: true, size: 2, sample: ids.map((id) => ({ profile: { id } })), errors: [] },
    });
    const list = await gql(`{ audiences { key } }`, {}, reader);
    expect(list.data).toEqual({ audiences: [{ key: 'big_spenders' }, { key: 'pro_big_spenders' }] });
  });

  it('recomputes a changed definition', async () => {
    const updated = await gql(
      `mutation ($input: UpdateAudienceInput!) { updateAudience(input: $input) { ok audience { definition status } errors { code } } }`,
      {
        input: { key: 'big_spenders', definition: "event('Order Completed').sum(property('total')) >= 120" },
      },
    );
    expect(updated.data?.updateAudience).toMatchObject({
      ok: true,
      audience: { definition: "event('Order Completed').sum(property('total')) >= 120" },
    });
    // Ann (130) stays, Bob (110) leaves.
    const after = await poll(
      () => audience('big_spenders'),
      (a) => a?.status === 'LIVE' && a.size === 1,
    );
    expect(after?.members.nodes).toEqual([
      { profile: { id: await profileId('ann') }, account: null, since: ISO },
    ]);
    expect(after?.changes.nodes[0]).toMatchObject({ entered: false, cause: 'backfill' });
  });

  it('pages through the changes newest first, losing none', async () => {
    const all = await gql(
      `{ audience(key: "big_spenders") { changes(first: 100) { nodes { subjectId entered at } } } }`,
    );
    const full = (all.data?.audience as { changes: { nodes: { at: string }[] } }).changes.nodes;
    expect(full.length).toBeGreaterThanOrEqual(3);
    const times = full.map((c) => c.at);
    expect(times).toEqual([...times].sort().reverse());
    const paged: unknown[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res = await gql(
        `query ($after: String) { audience(key: "big_spenders") { changes(first: 1, after: $after) { nodes { subjectId entered at } pageInfo { hasNextPage endCursor } } } }`,
        { after },
      );
      const page = (
        res.data?.audience as {
          changes: { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
        }
      ).changes;
      paged.push(...page.nodes);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(paged).toEqual(full);
  });

  it('qualifies accounts by their users (ANY) and shows them on the account', async () => {
    await call('group', { userId: 'ann', groupId: 'acme', messageId: `${run}-g1` });
    await call('group', { userId: 'bob', groupId: 'globex', messageId: `${run}-g2` });
    const created = await gql(CREATE, {
      input: { key: 'has_big_spender', definition: "ANY(trait('big_spenders') = true)" },
    });
    expect(created.data?.createAudience).toMatchObject({ ok: true, audience: { level: 'ACCOUNTS' } });
    const acct = await poll(
      () => audience('has_big_spender'),
      (a) => a?.status === 'LIVE' && a.size === 1,
    );
    expect(acct?.members.nodes).toEqual([{ profile: null, account: { groupId: 'acme' }, since: ISO }]);
    // A big spender joining another account brings it in; the cause is the membership.
    await call('group', { userId: 'ann', groupId: 'initech', messageId: `${run}-g3` });
    await poll(
      () => audience('has_big_spender'),
      (a) => a?.size === 2,
    );
    const joined = await audience('has_big_spender'); // read again: size and changes are separate statements
    expect(joined?.changes.nodes[0]).toMatchObject({
      subjectId: 'initech',
      entered: true,
      cause: 'membership',
    });
    const onAccount = await gql(`{ account(groupId: "acme") { audiences { key } } }`, {}, reader);
    expect(onAccount.data).toEqual({ account: { audiences: [{ key: 'has_big_spender' }] } });
    const accountEdges = () => graphAudiences('(:Account {space: $space, groupId: $id})', 'acme');
    expect(await poll(accountEdges, (keys) => keys.length === 1)).toEqual(['has_big_spender']);
  });

  it('refuses circles, bad definitions and keys as data, and needs the admin scope', async () => {
    const circle = await gql(CREATE, {
      input: { key: 'circle_a', definition: "trait('circle_b') = true" },
    });
    expect(circle.data?.createAudience).toMatchObject({ ok: true });
    const closing = await gql(CREATE, {
      input: { key: 'circle_b', definition: "trait('circle_a') = true" },
    });
    expect(closing.data?.createAudience).toEqual({
      ok: false,
      audience: null,
      errors: [
        {
          code: 'CYCLE',
          message: 'audiences refer to each other in a circle: circle_a → circle_b → circle_a',
          path: ['input', 'definition'],
        },
      ],
    });
    const taken = await gql(CREATE, { input: { key: 'big_spenders', definition: "trait('x') = 1" } });
    expect(taken.data?.createAudience).toMatchObject({
      errors: [{ code: 'KEY_TAKEN', path: ['input', 'key'] }],
    });
    const users = await gql(CREATE, {
      input: { key: 'bad_level', definition: "ANY(trait('x') = 1)", level: 'USERS' },
    });
    expect(users.data?.createAudience).toMatchObject({
      errors: [{ code: 'INVALID_DEFINITION', path: ['input', 'definition'] }],
    });
    const syntax = await gql(CREATE, { input: { key: 'broken', definition: "trait('x') =" } });
    expect(syntax.data?.createAudience).toMatchObject({
      errors: [{ code: 'INVALID_DEFINITION', message: expect.stringMatching(/line 1, column \d+/) }],
    });
    const forbidden = await gql(
      CREATE,
      { input: { key: 'by_reader', definition: "trait('x') = 1" } },
      reader,
    );
    expect(forbidden.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('deletes an audience: its memberships go, its key stays taken', async () => {
    const deleted = await gql(`mutation { deleteAudience(key: "circle_a") { deleted errors { code } } }`);
    expect(deleted).toEqual({ data: { deleteAudience: { deleted: true, errors: [] } } });
    expect(await audience('circle_a')).toBeNull();
    // circle_a had no members; big_spenders' edges go when it is deleted.
    const ann = await profileId('ann');
    const before = await graphAudiences('(:Profile {id: $id})', ann);
    expect(before).toContain('big_spenders');
    const gone = await gql(`mutation { deleteAudience(key: "big_spenders") { deleted } }`);
    expect(gone.data).toEqual({ deleteAudience: { deleted: true } });
    expect(
      await poll(
        () => graphAudiences('(:Profile {id: $id})', ann),
        (keys) => !keys.includes('big_spenders'),
      ),
    ).not.toContain('big_spenders');
    const again = await gql(`mutation { deleteAudience(key: "circle_a") { deleted errors { code path } } }`);
    expect(again.data?.deleteAudience).toEqual({
      deleted: false,
      errors: [{ code: 'NOT_FOUND', path: ['key'] }],
    });
    const reuse = await gql(CREATE, { input: { key: 'circle_a', definition: "trait('x') = 1" } });
    expect(reuse.data?.createAudience).toMatchObject({ errors: [{ code: 'KEY_TAKEN' }] });
  });

  it('deleting a computed trait an audience refers to computes the audience again over the kept traits', async () => {
    await call('identify', { userId: 'dora', messageId: `${run}-dora-id`, traits: { plan: 'free' } });
    const trait = await gql(
      `mutation { createComputedTrait(input: { key: "dora_orders", definition: "event('Order Completed').count()" }) { ok } }`,
    );
    expect(trait.data).toEqual({ createComputedTrait: { ok: true } });
    const created = await gql(CREATE, {
      input: { key: 'no_orders', definition: "trait('dora_orders') = 0", includeAnonymous: true },
    });
    expect(created.data?.createAudience).toMatchObject({ ok: true, errors: [] });
    const doraIn = async () => {
      const res = await gql(`{ profile(by: { type: "user_id", value: "dora" }) { audiences { key } } }`);
      const keys = (res.data?.profile as { audiences: { key: string }[] }).audiences.map((a) => a.key);
      return { status: (await audience('no_orders'))?.status, member: keys.includes('no_orders') };
    };
    // Dora has no orders: the count is 0, and she is a member.
    expect(await poll(doraIn, (d) => d.status === 'LIVE' && d.member)).toEqual({
      status: 'LIVE',
      member: true,
    });
    // Deleted, the trait keeps its stored values as custom traits; Dora's empty one (0) is none to keep, so
    // the audience now reads no `dora_orders` for her, and she leaves though nothing touched her.
    const deleted = await gql(`mutation { deleteComputedTrait(key: "dora_orders") { deleted } }`);
    expect(deleted.data).toEqual({ deleteComputedTrait: { deleted: true } });
    expect(await poll(doraIn, (d) => d.status === 'LIVE' && !d.member)).toEqual({
      status: 'LIVE',
      member: false,
    });
  });
});

describe('the audienceChanges subscription over graphql-ws', () => {
  const clients: Client[] = [];
  const connect = (secret: string, closed?: (code: number) => void): Client => {
    const client = createClient({
      url: `${service.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${secret}` },
      retryAttempts: 0,
      on: closed === undefined ? {} : { closed: (event) => closed((event as { code: number }).code) },
    });
    clients.push(client);
    return client;
  };
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
  });

  /** The next result of an iterator, or a timeout. */
  async function next<T>(it: AsyncIterator<T>, ms = 15_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
    });
    try {
      const result = await Promise.race([it.next(), timeout]);
      if (result.done === true) throw new Error('the subscription ended');
      return result.value;
    } finally {
      clearTimeout(timer);
    }
  }

  it('streams entries and exits as they are recorded, with a read token', async () => {
    const created = await gql(CREATE, {
      input: { key: 'vips', definition: "trait('vip') = true", includeAnonymous: true },
    });
    expect(created.data?.createAudience).toMatchObject({ ok: true });
    await poll(
      () => audience('vips'),
      (a) => a?.status === 'LIVE',
    );
    const changes = connect(reader).iterate({
      query:
        'subscription ($key: String!) { audienceChanges(key: $key) { subjectId entered cause profile { id } } }',
      variables: { key: 'vips' },
    });
    // The subscription starts when the server has the operation; give it a moment before the event.
    const first = next(changes);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await call('identify', { userId: 'cara', messageId: `${run}-cara-vip`, traits: { vip: true } });
    const cara = await profileId('cara');
    expect(await first).toEqual({
      data: { audienceChanges: { subjectId: cara, entered: true, cause: 'trait', profile: { id: cara } } },
    });
    await call('identify', { userId: 'cara', messageId: `${run}-cara-not-vip`, traits: { vip: false } });
    expect(await next(changes)).toEqual({
      data: { audienceChanges: { subjectId: cara, entered: false, cause: 'trait', profile: { id: cara } } },
    });
    await changes.return?.();
  });

  it('keeps include anonymous when an update omits it, and ends a subscription when its audience goes', async () => {
    const updated = await gql(
      `mutation { updateAudience(input: { key: "vips", definition: "trait('vip') = true OR trait('vvip') = true" }) { ok audience { includeAnonymous } } }`,
    );
    expect(updated.data).toEqual({ updateAudience: { ok: true, audience: { includeAnonymous: true } } });
    const changes = connect(reader).iterate({
      query: 'subscription { audienceChanges(key: "vips") { entered } }',
    });
    const ended = changes.next();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await gql(`mutation { deleteAudience(key: "vips") { deleted } }`)).toEqual({
      data: { deleteAudience: { deleted: true } },
    });
    const result = await Promise.race([
      ended,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000)),
    ]);
    expect(result).toEqual({ done: true, value: undefined });
  });

  it('refuses a connection without a valid access token (4403), and queries and unknown audiences', async () => {
    const code = await new Promise<number>((resolve) => {
      const client = connect('not-a-token', resolve);
      const it = client.iterate({ query: 'subscription { audienceChanges(key: "vips") { entered } }' });
      void it.next().catch(() => undefined);
    });
    expect(code).toBe(4403);

    const query = connect(reader).iterate({ query: '{ audiences { key } }' });
    await expect(next(query)).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'OPERATION_NOT_SUPPORTED' }) }),
    ]);
    const unknown = connect(reader).iterate({
      query: 'subscription { audienceChanges(key: "no_such_audience") { entered } }',
    });
    expect(await next(unknown)).toMatchObject({
      errors: [{ extensions: { code: 'NOT_FOUND' } }],
    });
  });
});
