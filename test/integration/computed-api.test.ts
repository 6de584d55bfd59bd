// Computed traits through the real service (SEMANTICS.md §9, docs/adr/0021-computed-traits.md): the GraphQL
// mutations and queries, values and their changes on profiles, deletion keeping the values as ordinary
// traits, scopes, and the Profile API's `class=computed_trait`; account-level traits over the members' events. The service's own worker computes the
// values with the real clock, so only traits without windows are used here; values are polled with a
// timeout, never waited for with sleeps.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { poll, postGraphQL } from '../support/api.ts';
import { startTestService } from '../support/service.ts';

let service: Service;
const run = randomUUID().slice(0, 8);
const space = `ctapi-${run}`;
let admin = '';
let reader = '';
const user = `ct-user-${run}`;
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

const gql = (query: string, variables: Record<string, unknown> = {}, secret = admin) =>
  postGraphQL(service.url, secret, query, variables);

async function profileApi(path: string) {
  const res = await fetch(`${service.url}/v1/spaces/${space}/collections/users/profiles/${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`${reader}:`).toString('base64')}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function track(messageId: string, total: number, userId = user): Promise<void> {
  const res = await gql(`mutation ($input: TrackInput!) { track(input: $input) { ok error { code } } }`, {
    input: { userId, event: 'Order Completed', messageId, properties: { total } },
  });
  expect(res, JSON.stringify(res)).toEqual({ data: { track: { ok: true, error: null } } });
}

const CREATE = `mutation ($input: CreateComputedTraitInput!) {
  createComputedTrait(input: $input) {
    ok
    computedTrait { key definition level description status progress failure createdAt updatedAt }
    errors { code message path }
  }
}`;

const PROFILE = `query ($user: String!, $first: Int!) {
  profile(by: { type: "user_id", value: $user }) {
    traits
    trait(key: "orders") { value messageId }
    computedTraits { key value updatedAt }
    computedTraitChanges(first: $first) { key oldValue newValue at cause messageId }
  }
}`;

interface ProfileAnswer {
  traits: Record<string, unknown>;
  trait: { value: unknown; messageId: string } | null;
  computedTraits: { key: string; value: unknown; updatedAt: string | null }[];
  computedTraitChanges: {
    key: string;
    oldValue: unknown;
    newValue: unknown;
    at: string;
    cause: string;
    messageId: string | null;
  }[];
}

async function profile(first = 20, userId = user): Promise<ProfileAnswer> {
  const res = await gql(PROFILE, { user: userId, first });
  expect(res.errors, JSON.stringify(res)).toBeUndefined();
  return res.data?.profile as ProfileAnswer;
}

const valueOf = (p: ProfileAnswer, key: string) => p.computedTraits.find((v) => v.key === key)?.value;

async function status(key: string): Promise<unknown> {
  const res = await gql(`query ($key: String!) { computedTrait(key: $key) { status progress } }`, { key });
  return res.data?.computedTrait;
}

beforeAll(async () => {
  service = await startTestService();
  const { spaces } = service.services;
  await spaces.createSpace(space);
  admin = (await spaces.createKey(space, 'token', { scopes: ['write', 'admin'] })).secret;
  reader = (await spaces.createKey(space, 'token')).secret;
  const identify = await gql(`mutation ($input: IdentifyInput!) { identify(input: $input) { ok } }`, {
    input: { userId: user, messageId: `${run}-id`, traits: { plan: 'pro' } },
  });
  expect(identify).toEqual({ data: { identify: { ok: true } } });
  await track(`${run}-o1`, 50);
  await track(`${run}-o2`, 150);
});
afterAll(async () => {
  await service.stop();
});

describe('createComputedTrait refusals', () => {
  it('refuses a definition that does not parse, with the code, the path and the position', async () => {
    const res = await gql(CREATE, {
      input: { key: 'broken', definition: "event('Order Completed').count(" },
    });
    expect(res).toEqual({
      data: {
        createComputedTrait: {
          ok: false,
          computedTrait: null,
          errors: [
            {
              code: 'INVALID_DEFINITION',
              message: expect.stringContaining('(line 1, column 32)'),
              path: ['input', 'definition'],
            },
          ],
        },
      },
    });
  });

  it('refuses a definition that does not check, e.g. summing a string literal', async () => {
    const res = await gql(CREATE, {
      input: { key: 'broken_sum', definition: "event('Order Completed').sum('total')" },
    });
    expect(res.data?.createComputedTrait).toMatchObject({
      ok: false,
      errors: [
        {
          code: 'INVALID_DEFINITION',
          message: expect.stringMatching(/string literal.*\(line 1, column 30\)$/),
          path: ['input', 'definition'],
        },
      ],
    });
  });

  it('refuses keys that are not snake_case, with the path', async () => {
    const badKey = await gql(CREATE, { input: { key: 'Orders', definition: "event('X').count()" } });
    expect(badKey.data?.createComputedTrait).toMatchObject({
      ok: false,
      errors: [{ code: 'INVALID_KEY', path: ['input', 'key'] }],
    });
  });

  it('needs the admin scope: a read token cannot create or delete', async () => {
    const create = await gql(
      CREATE,
      { input: { key: 'by_reader', definition: "event('X').count()" } },
      reader,
    );
    expect(create.data).toBeNull();
    expect(create.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const del = await gql(`mutation { deleteComputedTrait(key: "by_reader") { deleted } }`, {}, reader);
    expect(del.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const list = await gql(`{ computedTraits { key } }`, {}, reader);
    expect(list).toEqual({ data: { computedTraits: [] } });
  });
});

describe('a computed trait from creation to deletion', () => {
  it('computes the history (COMPUTING, then LIVE), follows new events and records every change', async () => {
    const created = await gql(CREATE, {
      input: {
        key: 'orders',
        definition: "event( 'Order Completed' ).count()",
        description: 'Orders ever completed',
      },
    });
    expect(created).toEqual({
      data: {
        createComputedTrait: {
          ok: true,
          computedTrait: {
            key: 'orders',
            definition: "event('Order Completed').count()",
            level: 'USERS',
            description: 'Orders ever completed',
            // A space this small may be computed before the answer is read back.
            status: expect.stringMatching(/^(COMPUTING|LIVE)$/),
            progress: expect.any(Number),
            failure: null,
            createdAt: ISO,
            updatedAt: ISO,
          },
          errors: [],
        },
      },
    });
    const revenue = await gql(CREATE, {
      input: { key: 'revenue', definition: "event('Order Completed').sum(property('total'))" },
    });
    expect(revenue.data?.createComputedTrait).toMatchObject({ ok: true, errors: [] });

    expect(
      await poll(
        () => status('orders'),
        (s) => (s as { status: string }).status === 'LIVE',
      ),
    ).toEqual({
      status: 'LIVE',
      progress: 1,
    });
    const list = await gql(`{ computedTraits { key status } }`, {}, reader);
    expect(list.data?.computedTraits).toEqual([
      { key: 'orders', status: 'LIVE' },
      { key: 'revenue', status: expect.stringMatching(/^(COMPUTING|LIVE)$/) },
    ]);

    // Polled on the values, then read again: one answer's fields are read by separate statements (the
    // changes may be read just before the commit that the values are read after).
    await poll(profile, (p) => valueOf(p, 'orders') === 2 && valueOf(p, 'revenue') === 200);
    const before = await profile();
    expect(before.computedTraits).toEqual([
      { key: 'orders', value: 2, updatedAt: ISO },
      { key: 'revenue', value: 200, updatedAt: ISO },
    ]);
    expect(before.computedTraitChanges).toEqual(
      expect.arrayContaining([
        { key: 'orders', oldValue: null, newValue: 2, at: ISO, cause: 'backfill', messageId: null },
      ]),
    );

    await track(`${run}-o3`, 25);
    await poll(profile, (p) => valueOf(p, 'orders') === 3 && valueOf(p, 'revenue') === 225);
    const after = await profile();
    expect(after.computedTraits.map((v) => [v.key, v.value])).toEqual([
      ['orders', 3],
      ['revenue', 225],
    ]);
    // Newest first; the change names the event whose mark triggered the recomputation. A recomputation
    // counts every event stored by then, so one that o2's late mark triggered may already see o3
    // (docs/adr/0021-computed-traits.md).
    const cause = expect.stringMatching(new RegExp(`^${run}-o[23]$`));
    expect(after.computedTraitChanges.slice(0, 2)).toEqual(
      expect.arrayContaining([
        { key: 'orders', oldValue: 2, newValue: 3, at: ISO, cause: 'event', messageId: cause },
        { key: 'revenue', oldValue: 200, newValue: 225, at: ISO, cause: 'event', messageId: cause },
      ]),
    );
    expect((await profile(1)).computedTraitChanges).toHaveLength(1);

    // An order that creates its profile: the change names the order (its commit also records the new
    // identifiers, which are its consequence, not the cause).
    const newcomer = `${run}-newcomer`;
    await track(`${run}-n1`, 10, newcomer);
    await poll(
      () => profile(20, newcomer),
      (p) => p !== null && valueOf(p, 'orders') === 1 && valueOf(p, 'revenue') === 10,
    );
    const fresh = await profile(20, newcomer);
    expect(fresh.computedTraitChanges).toEqual(
      expect.arrayContaining([
        { key: 'orders', oldValue: null, newValue: 1, at: ISO, cause: 'event', messageId: `${run}-n1` },
        { key: 'revenue', oldValue: null, newValue: 10, at: ISO, cause: 'event', messageId: `${run}-n1` },
      ]),
    );

    const tooMany = await gql(PROFILE, { user, first: 101 });
    expect(tooMany.errors?.map((e) => e.extensions?.code)).toEqual(['VALIDATION_FAILED']);
  });

  it("answers the Profile API's traits with class=computed_trait, without class, with include", async () => {
    const computed = await profileApi(`user_id:${user}/traits?class=computed_trait`);
    expect(computed).toEqual({
      status: 200,
      body: {
        traits: { orders: 3, revenue: 225 },
        cursor: {
          url: `/v1/spaces/${space}/collections/users/profiles/user_id:${user}/traits?class=computed_trait`,
          has_more: false,
          next: '',
          limit: 10,
        },
      },
    });
    const custom = await profileApi(`user_id:${user}/traits?class=custom_trait`);
    expect(custom.body.traits).toEqual({ plan: 'pro' });
    const all = await profileApi(`user_id:${user}/traits`);
    expect(all.body.traits).toEqual({ orders: 3, plan: 'pro', revenue: 225 });
    const paged = await profileApi(`user_id:${user}/traits?limit=2`);
    expect(paged.body).toMatchObject({ traits: { orders: 3, plan: 'pro' }, cursor: { has_more: true } });
    const included = await profileApi(
      `user_id:${user}/traits?class=computed_trait&include=revenue&verbose=true`,
    );
    expect(included.body.traits).toEqual({
      revenue: { value: 225, source_id: null, updated_at: ISO, message_id: null },
    });
    const audiences = await profileApi(`user_id:${user}/traits?class=audience`);
    expect(audiences.body.traits).toEqual({});
  });

  it('deleting keeps the last values on the profile as ordinary traits; the key is never reused', async () => {
    const res = await gql(
      `mutation { deleteComputedTrait(key: "orders") { deleted keptOnProfiles errors { code } } }`,
    );
    // The user's and the newcomer's (the test before made one).
    expect(res).toEqual({ data: { deleteComputedTrait: { deleted: true, keptOnProfiles: 2, errors: [] } } });

    const p = await profile();
    expect(p.traits).toEqual({ plan: 'pro', orders: 3 });
    expect(p.trait).toEqual({ value: 3, messageId: 'computed-trait-deleted:orders' });
    expect(p.computedTraits.map((v) => v.key)).toEqual(['revenue']);
    expect((await gql(`{ computedTrait(key: "orders") { key } }`)).data).toEqual({ computedTrait: null });
    const custom = await profileApi(`user_id:${user}/traits?class=custom_trait`);
    expect(custom.body.traits).toEqual({ orders: 3, plan: 'pro' });

    const again = await gql(CREATE, {
      input: { key: 'orders', definition: "event('Order Completed').count()" },
    });
    expect(again.data?.createComputedTrait).toMatchObject({
      ok: false,
      computedTrait: null,
      errors: [{ code: 'KEY_TAKEN', path: ['input', 'key'] }],
    });
    const unknown = await gql(
      `mutation { deleteComputedTrait(key: "orders") { deleted keptOnProfiles errors { code path } } }`,
    );
    expect(unknown).toEqual({
      data: {
        deleteComputedTrait: {
          deleted: false,
          keptOnProfiles: 0,
          errors: [{ code: 'NOT_FOUND', path: ['key'] }],
        },
      },
    });
  });
});

describe('an account-level computed trait', () => {
  const acctSpace = `ctacct-${run}`;
  let acctAdmin = '';
  const call = async (kind: 'track' | 'group', input: Record<string, unknown>) => {
    const type = kind === 'track' ? 'TrackInput' : 'GroupInput';
    const res = await gql(
      `mutation ($input: ${type}!) { ${kind}(input: $input) { ok } }`,
      { input },
      acctAdmin,
    );
    expect(res, JSON.stringify(res)).toEqual({ data: { [kind]: { ok: true } } });
  };
  const order = (userId: string, messageId: string, total: number) =>
    call('track', { userId, event: 'Order Completed', messageId, properties: { total } });
  const ACCOUNT = `query ($g: String!) {
    account(groupId: $g) {
      traits
      computedTraits { key value }
      computedTraitChanges { key oldValue newValue cause }
    }
  }`;
  type AccountAnswer = {
    traits: Record<string, unknown>;
    computedTraits: { key: string; value: unknown }[];
    computedTraitChanges: { key: string; oldValue: unknown; newValue: unknown; cause: string }[];
  };
  const account = async (): Promise<AccountAnswer> => {
    const res = await gql(ACCOUNT, { g: 'acme' }, acctAdmin);
    expect(res.errors, JSON.stringify(res)).toBeUndefined();
    return res.data?.account as AccountAnswer;
  };

  it("sums the members' events, from before they joined too, and follows new members", async () => {
    const { spaces } = service.services;
    await spaces.createSpace(acctSpace);
    acctAdmin = (await spaces.createKey(acctSpace, 'token', { scopes: ['write', 'admin'] })).secret;
    // u1 orders before joining; u2 joins, then orders; u3 orders but is not a member yet.
    await order('u1', `${run}-a1`, 10);
    await call('group', { userId: 'u1', groupId: 'acme', messageId: `${run}-g1` });
    await call('group', { userId: 'u2', groupId: 'acme', messageId: `${run}-g2` });
    await order('u2', `${run}-a2`, 5);
    await order('u3', `${run}-a3`, 100);

    const created = await gql(
      CREATE,
      {
        input: {
          key: 'acct_revenue',
          definition: "event('Order Completed').sum(property('total'))",
          level: 'ACCOUNTS',
        },
      },
      acctAdmin,
    );
    expect(created.data?.createComputedTrait).toMatchObject({
      ok: true,
      computedTrait: { key: 'acct_revenue', level: 'ACCOUNTS' },
      errors: [],
    });
    const live = await poll(
      async () =>
        (await gql(`{ computedTrait(key: "acct_revenue") { status progress } }`, {}, acctAdmin)).data,
      (d) => (d?.computedTrait as { status: string } | undefined)?.status === 'LIVE',
    );
    expect(live).toEqual({ computedTrait: { status: 'LIVE', progress: 1 } });
    expect((await account()).computedTraits).toEqual([{ key: 'acct_revenue', value: 15 }]);

    // A new member brings its whole history; a member's new event counts.
    await call('group', { userId: 'u3', groupId: 'acme', messageId: `${run}-g3` });
    await order('u1', `${run}-a4`, 1);
    await poll(account, (a) => a.computedTraits[0]?.value === 116);
    const after = await account(); // read again, as for profiles above
    expect(after.computedTraits).toEqual([{ key: 'acct_revenue', value: 116 }]);
    expect(after.computedTraitChanges[0]).toMatchObject({ key: 'acct_revenue', newValue: 116 });
    expect(after.computedTraitChanges.at(-1)).toEqual({
      key: 'acct_revenue',
      oldValue: null,
      newValue: 15,
      cause: 'backfill',
    });

    // Users do not show account-level traits; the Profile API's accounts collection does.
    const member = await gql(
      `{ profile(by: { type: "user_id", value: "u1" }) { computedTraits { key } } }`,
      {},
      acctAdmin,
    );
    expect(member.data).toEqual({ profile: { computedTraits: [] } });
    const api = await fetch(
      `${service.url}/v1/spaces/${acctSpace}/collections/accounts/profiles/group_id:acme/traits?class=computed_trait`,
      { headers: { authorization: `Basic ${Buffer.from(`${acctAdmin}:`).toString('base64')}` } },
    );
    expect(api.status).toBe(200);
    expect(((await api.json()) as { traits: unknown }).traits).toEqual({ acct_revenue: 116 });
  });

  it('deleting keeps the last value on the account as an ordinary account trait', async () => {
    const res = await gql(
      `mutation { deleteComputedTrait(key: "acct_revenue") { deleted keptOnProfiles errors { code } } }`,
      {},
      acctAdmin,
    );
    expect(res).toEqual({ data: { deleteComputedTrait: { deleted: true, keptOnProfiles: 1, errors: [] } } });
    const a = await account();
    expect(a.computedTraits).toEqual([]);
    expect(a.traits).toEqual({ acct_revenue: 116 });
  });
});
