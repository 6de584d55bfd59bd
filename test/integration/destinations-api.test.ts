// Webhook destinations through the real service (SEMANTICS.md §10 "Activation",
// docs/adr/0023-webhook-destinations.md): a local receiver (node:http on 127.0.0.1) verifies every
// request's Standard Webhooks signature with the `standardwebhooks` package and records it. Covered: the
// initial sync of current members and values, then entries, exits and value changes as identify and track
// calls with Segment's shapes; order per profile while the receiver fails; retries with back-off, given-up
// deliveries visible and replayable over GraphQL; the secret shown once and encrypted at rest; refusals
// (SSRF, unknown keys, scopes). The service's own worker sends; answers are polled, never slept for.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DestinationsService,
  ANALYZE_AFTER_QUEUED,
  DEFAULT_DESTINATION_SETTINGS,
  decryptSecret,
} from '../../src/destinations/index.ts';
import type { Database } from '../../src/postgres/database.ts';
import type { Service } from '../../src/service.ts';
import { poll, postGraphQL } from '../support/api.ts';
import { openTestDatabase } from '../support/postgres.ts';
import { startTestService } from '../support/service.ts';
import { startReceiver, type ReceivedCall, type Receiver } from '../support/webhook-receiver.ts';

const KEY = randomBytes(32);
const RETRY_BASE_MS = 100;
let service: Service;
let db: Database;
const run = randomUUID().slice(0, 8);
const space = `dest-${run}`;
let admin = '';
let reader = '';
const receivers: Receiver[] = [];

const gql = (query: string, variables: Record<string, unknown> = {}, secret = admin) =>
  postGraphQL(service.url, secret, query, variables);

async function call(kind: 'track' | 'identify', input: Record<string, unknown>): Promise<void> {
  const type = { track: 'TrackInput', identify: 'IdentifyInput' }[kind];
  const res = await gql(`mutation ($input: ${type}!) { ${kind}(input: $input) { ok } }`, { input });
  expect(res, JSON.stringify(res)).toEqual({ data: { [kind]: { ok: true } } });
}

const plan = (userId: string, value: string, n: number) =>
  call('identify', { userId, messageId: `${run}-${userId}-plan${n}`, traits: { plan: value } });

const CREATE = `mutation ($input: CreateWebhookDestinationInput!) {
  createWebhookDestination(input: $input) {
    ok signingSecret initialSyncQueued
    destination { id name kind url audiences computedTraits modes }
    errors { code message path }
  }
}`;

const DELIVERIES = `query ($id: ID!, $status: DeliveryStatus) {
  destination(id: $id) {
    counts { pending delivered failed }
    deliveries(status: $status, first: 100) {
      nodes { id messageId mode computationClass computationKey subjectId value initialSync status attempts lastStatus lastError }
      pageInfo { hasNextPage }
    }
  }
}`;

interface DeliveryNode {
  id: string;
  messageId: string;
  mode: string;
  computationKey: string;
  subjectId: string;
  value: unknown;
  initialSync: boolean;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
}

async function deliveries(id: string, status: string | null = null) {
  const res = await gql(DELIVERIES, { id, status });
  expect(res.errors, JSON.stringify(res)).toBeUndefined();
  const d = res.data?.destination as {
    counts: { pending: number; delivered: number; failed: number };
    deliveries: { nodes: DeliveryNode[] };
  };
  return { counts: d.counts, nodes: d.deliveries.nodes };
}

async function connect(
  input: Record<string, unknown>,
): Promise<{ id: string; secret: string; receiver: Receiver }> {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const res = await gql(CREATE, { input: { url: receiver.url, ...input } });
  const created = res.data?.createWebhookDestination as {
    ok: boolean;
    signingSecret: string;
    destination: { id: string };
  };
  expect(created?.ok, JSON.stringify(res)).toBe(true);
  receiver.setSecret(created.signingSecret);
  return { id: created.destination.id, secret: created.signingSecret, receiver };
}

async function profileId(userId: string): Promise<string> {
  const res = await gql(`query ($u: String!) { profile(by: { type: "user_id", value: $u }) { id } }`, {
    u: userId,
  });
  return (res.data?.profile as { id: string }).id;
}

async function audienceSize(key: string): Promise<{ status: string; size: number } | null> {
  const res = await gql(`query ($key: String!) { audience(key: $key) { status size } }`, { key });
  return (res.data?.audience as { status: string; size: number } | null) ?? null;
}

/** The receiver's accepted calls for one user, as `<type> <event or traits>` lines, in arrival order. */
const linesOf = (calls: ReceivedCall[], userId: string) =>
  calls
    .filter((c) => c.body.userId === userId)
    .map((c) =>
      c.body.type === 'track' ? `track ${String(c.body.event)}` : `identify ${JSON.stringify(c.body.traits)}`,
    );

const personas = (key: string, cls: 'audience' | 'trait') => ({
  computation_class: cls,
  computation_key: key,
  computation_id: key,
  space_id: space,
  namespace: `spa_${space}`,
  profile_id: expect.any(String),
});

beforeAll(async () => {
  service = await startTestService({
    DESTINATION_SECRET_KEY: KEY.toString('base64'),
    DESTINATIONS_ALLOW_PRIVATE_URLS: 'true',
    DESTINATION_RETRY_BASE_MS: String(RETRY_BASE_MS),
    DESTINATION_RETRY_MAX_MS: '400',
    DESTINATION_MAX_ATTEMPTS: '3',
  });
  db = await openTestDatabase();
  const { spaces } = service.services;
  await spaces.createSpace(space);
  admin = (await spaces.createKey(space, 'token', { scopes: ['write', 'admin'] })).secret;
  reader = (await spaces.createKey(space, 'token')).secret;
  await plan('ann', 'pro', 0);
  await plan('bob', 'free', 0);
  await call('track', { userId: 'ann', event: 'Order Completed', messageId: `${run}-ann-o1` });
  const pro = await gql(
    `mutation { createAudience(input: { key: "pro", definition: "trait('plan') = 'pro'" }) { ok errors { message } } }`,
  );
  expect(pro.data?.createAudience, JSON.stringify(pro)).toMatchObject({ ok: true });
  const orders = await gql(
    `mutation { createComputedTrait(input: { key: "orders", definition: "event('Order Completed').count()" }) { ok errors { message } } }`,
  );
  expect(orders.data?.createComputedTrait, JSON.stringify(orders)).toMatchObject({ ok: true });
  const live = await poll(
    () => audienceSize('pro'),
    (a) => a?.status === 'LIVE' && a.size === 1,
  );
  expect(live).toEqual({ status: 'LIVE', size: 1 });
  await poll(
    () => gql(`{ computedTrait(key: "orders") { status } }`),
    (r) => (r.data?.computedTrait as { status: string } | null)?.status === 'LIVE',
  );
});
afterAll(async () => {
  await service?.stop();
  await db?.close();
  await Promise.all(receivers.map((r) => r.close()));
});

describe('webhook destinations', () => {
  it('sends the current members and values first, then entries, exits and changes, signed, in Segment shapes', async () => {
    const { id, secret, receiver } = await connect({
      name: 'CRM',
      audiences: ['pro'],
      computedTraits: ['orders'],
      modes: ['IDENTIFY', 'TRACK'],
    });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const ann = await profileId('ann');
    // The initial sync: Ann is a member of pro and has 1 order; Bob is in neither (orders 0 is not stored).
    const synced = await poll(
      async () => receiver.accepted(),
      (calls) => calls.length >= 4,
    );
    expect(synced).toHaveLength(4);
    expect(synced.map((c) => c.body)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'identify', userId: 'ann', traits: { orders: 1 } }),
        expect.objectContaining({ type: 'identify', userId: 'ann', traits: { pro: true } }),
        expect.objectContaining({ type: 'track', userId: 'ann', event: 'Trait Computed' }),
        expect.objectContaining({ type: 'track', userId: 'ann', event: 'Audience Entered' }),
      ]),
    );
    const entered = synced.find((c) => c.body.event === 'Audience Entered');
    expect(entered?.body).toEqual({
      type: 'track',
      event: 'Audience Entered',
      messageId: expect.stringMatching(/^sg-sync-[0-9a-f]{32}-track$/),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      userId: 'ann',
      properties: { audience_key: 'pro', pro: true },
      context: {
        personas: { ...personas('pro', 'audience'), profile_id: ann },
        library: { name: 'stitchgraph', version: '0.1.0' },
      },
    });
    const traitSync = synced.find((c) => c.body.event === 'Trait Computed');
    expect(traitSync?.body).toMatchObject({
      userId: 'ann',
      properties: { trait_key: 'orders', orders: 1 },
      context: { personas: personas('orders', 'trait') },
    });

    // Changes follow: Bob enters, Ann leaves, Bob's first order.
    await plan('bob', 'pro', 1);
    await poll(
      async () => linesOf(receiver.accepted(), 'bob'),
      (l) => l.length >= 2,
    );
    await plan('ann', 'free', 1);
    await call('track', { userId: 'bob', event: 'Order Completed', messageId: `${run}-bob-o1` });
    const all = await poll(
      async () => receiver.accepted(),
      (calls) => calls.length >= 10,
    );
    expect(linesOf(all, 'bob').sort()).toEqual(
      [
        'identify {"pro":true}',
        'track Audience Entered',
        'identify {"orders":1}',
        'track Trait Computed',
      ].sort(),
    );
    expect(linesOf(all, 'ann')).toEqual(
      expect.arrayContaining(['identify {"pro":false}', 'track Audience Exited']),
    );
    const exited = all.find((c) => c.body.event === 'Audience Exited');
    expect(exited?.body).toMatchObject({
      type: 'track',
      userId: 'ann',
      messageId: expect.stringMatching(/^sg-\d+-track$/),
      properties: { audience_key: 'pro', pro: false },
      context: { personas: personas('pro', 'audience') },
    });
    const bobIdentify = all.find(
      (c) => c.body.userId === 'bob' && c.body.type === 'identify' && 'orders' in (c.body.traits as object),
    );
    expect(bobIdentify?.body).toMatchObject({
      traits: { orders: 1 },
      context: { personas: personas('orders', 'trait') },
    });
    // Every request carried a valid signature, and its webhook-id is the call's messageId.
    expect(all.filter((c) => !receiver.verified(c)).map((c) => c.id)).toEqual([]);
    for (const c of all) expect(c.id).toBe(c.body.messageId);
    expect(all).toHaveLength(10);

    // The deliveries over GraphQL (a reader may look).
    const listed = await poll(
      () => deliveries(id),
      (d) => d.counts.delivered === 10,
    );
    expect(listed.counts).toEqual({ pending: 0, delivered: 10, failed: 0 });
    expect(listed.nodes.filter((n) => n.initialSync)).toHaveLength(4);
    const read = await gql(
      `query ($id: ID!) { destination(id: $id) { name audiences computedTraits modes } }`,
      { id },
      reader,
    );
    expect(read.data).toEqual({
      destination: {
        name: 'CRM',
        audiences: ['pro'],
        computedTraits: ['orders'],
        modes: ['IDENTIFY', 'TRACK'],
      },
    });

    // The secret is shown once: stored encrypted under DESTINATION_SECRET_KEY, never in any answer since.
    const listedAll = await gql(`{ destinations { id name url } }`, {}, reader);
    expect(JSON.stringify(listedAll)).not.toContain(secret.slice(6));
    const { rows } = await db.pool.query<{ secret: string }>(
      'SELECT secret FROM destinations WHERE id = $1',
      [id],
    );
    const stored = rows[0]?.secret ?? '';
    expect(stored).toMatch(/^v1:[^:]+:[^:]+:[^:]+$/);
    expect(stored).not.toContain(secret.slice(6, 20));
    expect(decryptSecret(KEY, id, stored)).toBe(secret);
    expect(() => decryptSecret(randomBytes(32), id, stored)).toThrow();
    expect(() => decryptSecret(KEY, 'another-destination', stored)).toThrow();
  });

  it('keeps each profile in order while the receiver fails, retrying with back-off', async () => {
    const { id, receiver } = await connect({ name: 'Ordered', audiences: ['pro'], modes: ['IDENTIFY'] });
    // Every call's first attempt fails: each of the profile's next calls must wait for the retry.
    receiver.respond((_, attempt) => (attempt === 1 ? 500 : 200));
    await poll(
      async () => receiver.accepted(),
      (c) => c.length >= 1,
    );
    // Five identifies alternating pro, free, …, pro: the last leaves cy a member.
    for (let n = 1; n <= 5; n++) await plan('cy', n % 2 === 1 ? 'pro' : 'free', n);
    const cy = await profileId('cy');
    // Every identify recomputed and recorded (this process drains too), so the record below is complete.
    await service.services.computed.catchUp();
    const { rows } = await db.pool.query<{ entered: boolean }>(
      `SELECT coalesce(new_value = 'true'::jsonb, false) AS entered FROM computed_value_changes
       WHERE space = $1 AND subject_id = $2 AND trait_key = 'pro' ORDER BY txid, id`,
      [space, cy],
    );
    const expected = rows.map((r) => `identify {"pro":${r.entered}}`);
    // Marks coalesce, so five identifies make at least one (cy ends a member) and at most five entries
    // or exits, alternating.
    expect(expected.length).toBeGreaterThanOrEqual(1);
    const got = await poll(
      async () => linesOf(receiver.accepted(), 'cy'),
      (l) => l.length >= expected.length,
    );
    expect(got).toEqual(expected);
    // Each was refused once, then sent again no sooner than half the base delay (equal jitter).
    const cyCalls = receiver.calls.filter((c) => c.body.userId === 'cy');
    for (const accepted of cyCalls.filter((c) => c.status === 200)) {
      const first = cyCalls.find((c) => c.id === accepted.id && c.status === 500);
      expect(first, accepted.id).toBeDefined();
      expect(accepted.at - (first?.at ?? 0)).toBeGreaterThanOrEqual(RETRY_BASE_MS / 2 - 5);
    }
    // And a call was never sent before the previous one was accepted.
    const order = cyCalls.map((c) => c.id);
    for (const [i, accepted] of cyCalls.entries())
      if (accepted.status === 200) expect(order.slice(i + 1)).not.toContain(accepted.id);
    // The receiver answers before the sender records the outcome: wait for the last one to be recorded.
    const listed = await poll(
      () => deliveries(id),
      (l) => l.nodes.filter((n) => n.subjectId === cy).every((n) => n.status === 'DELIVERED'),
    );
    const mine = listed.nodes.filter((n) => n.subjectId === cy);
    expect(mine.map((n) => [n.attempts, n.status])).toEqual(mine.map(() => [2, 'DELIVERED']));
  });

  it('gives up after the last attempt (FAILED, visible), and replays one or all over GraphQL', async () => {
    const { id, receiver } = await connect({ name: 'Down', audiences: ['pro'], modes: ['IDENTIFY'] });
    receiver.respond(() => 503);
    const failed = await poll(
      () => deliveries(id, 'FAILED'),
      (d) => d.counts.failed >= 1 && d.counts.pending === 0,
      30_000,
    );
    expect(failed.counts.delivered).toBe(0);
    const node = failed.nodes[0] as DeliveryNode;
    expect(node).toMatchObject({
      status: 'FAILED',
      attempts: 3,
      lastStatus: 503,
      lastError: 'HTTP 503: receiver says no',
      initialSync: true,
    });
    // Three attempts each, spaced by the back-off: ≥ 50 ms, then ≥ 100 ms (base 100, doubling, jitter ½-1).
    const tries = receiver.calls.filter((c) => c.id === node.messageId);
    expect(tries).toHaveLength(3);
    const gaps = tries.slice(1).map((c, i) => c.at - (tries[i] as ReceivedCall).at);
    expect(gaps[0]).toBeGreaterThanOrEqual(RETRY_BASE_MS / 2 - 5);
    expect(gaps[1]).toBeGreaterThanOrEqual(RETRY_BASE_MS - 5);

    // A reader may look but not replay.
    const forbidden = await gql(
      `mutation ($id: ID!) { replayDelivery(id: $id) { replayed } }`,
      { id: node.id },
      reader,
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    receiver.respond(() => 200);
    const one = await gql(`mutation ($id: ID!) { replayDelivery(id: $id) { replayed errors { code } } }`, {
      id: node.id,
    });
    expect(one.data).toEqual({ replayDelivery: { replayed: 1, errors: [] } });
    await poll(
      () => deliveries(id, 'DELIVERED'),
      (d) => d.nodes.some((n) => n.id === node.id),
    );
    const again = await gql(
      `mutation ($id: ID!) { replayDelivery(id: $id) { replayed errors { code path } } }`,
      { id: node.id },
    );
    expect(again.data).toEqual({
      replayDelivery: { replayed: 0, errors: [{ code: 'NOT_FOUND', path: ['id'] }] },
    });
    const all = await gql(
      `mutation ($id: ID!) { replayFailedDeliveries(destinationId: $id) { replayed errors { code } } }`,
      { id },
    );
    expect((all.data?.replayFailedDeliveries as { replayed: number }).replayed).toBe(
      failed.counts.failed - 1,
    );
    const done = await poll(
      () => deliveries(id),
      (d) => d.counts.failed === 0 && d.counts.pending === 0,
    );
    expect(done.counts.delivered).toBe(failed.counts.failed);
    expect(receiver.accepted().every((c) => receiver.verified(c))).toBe(true);
  });

  it('refuses bad settings as data naming the field, and needs admin to define', async () => {
    const refuse = async (input: Record<string, unknown>, secret = admin) =>
      gql(
        CREATE,
        { input: { name: 'x', url: 'http://127.0.0.1:9/hook', audiences: ['pro'], ...input } },
        secret,
      );
    expect((await refuse({ url: 'ftp://example.com/x' })).data?.createWebhookDestination).toMatchObject({
      ok: false,
      destination: null,
      signingSecret: null,
      errors: [{ code: 'INVALID_URL', path: ['input', 'url'] }],
    });
    expect((await refuse({ url: 'not a url' })).data?.createWebhookDestination).toMatchObject({
      errors: [{ code: 'INVALID_URL', path: ['input', 'url'] }],
    });
    expect((await refuse({ audiences: ['pro', 'nope'] })).data?.createWebhookDestination).toMatchObject({
      errors: [{ code: 'NOT_FOUND', path: ['input', 'audiences', 1] }],
    });
    expect((await refuse({ audiences: ['orders'] })).data?.createWebhookDestination).toMatchObject({
      errors: [{ code: 'NOT_FOUND', path: ['input', 'audiences', 0] }],
    });
    expect((await refuse({ audiences: [] })).data?.createWebhookDestination).toMatchObject({
      errors: [{ code: 'NOTHING_TO_SEND', path: ['input', 'audiences'] }],
    });
    expect((await refuse({ modes: [] })).data?.createWebhookDestination).toMatchObject({
      errors: [{ code: 'INVALID_MODES', path: ['input', 'modes'] }],
    });
    expect((await refuse({}, reader)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const gone = await gql(`mutation { deleteDestination(id: "nope") { deleted errors { code path } } }`);
    expect(gone.data).toEqual({
      deleteDestination: { deleted: false, errors: [{ code: 'NOT_FOUND', path: ['id'] }] },
    });

    // Without DESTINATIONS_ALLOW_PRIVATE_URLS, loopback, private, link-local (metadata) and mapped addresses
    // are refused, by name or by address (a service of this test's own, its worker not started).
    const guarded = new DestinationsService(db, { ...DEFAULT_DESTINATION_SETTINGS, secretKey: KEY });
    for (const url of [
      'http://127.0.0.1:8080/x',
      'http://localhost/x',
      'http://10.1.2.3/x',
      'http://192.168.0.1/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://100.64.0.1/x',
      'http://0.0.0.0/x',
    ]) {
      const r = await guarded.createWebhook(space, {
        name: 'x',
        url,
        audiences: ['pro'],
        computedTraits: [],
        modes: ['identify'],
      });
      expect(r, url).toMatchObject({ ok: false, code: 'INVALID_URL', path: ['input', 'url'] });
    }
    const off = new DestinationsService(db, DEFAULT_DESTINATION_SETTINGS);
    expect(
      await off.createWebhook(space, {
        name: 'x',
        url: 'https://example.com/x',
        audiences: ['pro'],
        computedTraits: [],
        modes: ['identify'],
      }),
    ).toMatchObject({ ok: false, code: 'NOT_CONFIGURED' });
  });

  it('updates a destination (an added audience gets its initial sync) and deletes it', async () => {
    await gql(
      `mutation { createAudience(input: { key: "free", definition: "trait('plan') = 'free'" }) { ok } }`,
    );
    await poll(
      () => audienceSize('free'),
      (a) => a?.status === 'LIVE' && a.size >= 1,
    );
    const { id, receiver } = await connect({ name: 'Later', audiences: ['pro'], modes: ['TRACK'] });
    const members = (await audienceSize('pro'))?.size ?? 0;
    await poll(
      async () => receiver.accepted(),
      (c) => c.length >= members,
    );
    const res = await gql(
      `mutation ($input: UpdateDestinationInput!) { updateDestination(input: $input) { ok destination { name audiences modes } errors { code } } }`,
      { input: { id, name: 'Later too', audiences: ['pro', 'free'] } },
    );
    expect(res.data).toEqual({
      updateDestination: {
        ok: true,
        destination: { name: 'Later too', audiences: ['free', 'pro'], modes: ['TRACK'] },
        errors: [],
      },
    });
    const freeMembers = (await audienceSize('free'))?.size ?? 0;
    const got = await poll(
      async () =>
        receiver
          .accepted()
          .filter((c) => (c.body.properties as { audience_key?: string }).audience_key === 'free'),
      (c) => c.length >= freeMembers,
    );
    expect(got).toHaveLength(freeMembers);
    expect(got.every((c) => c.body.event === 'Audience Entered')).toBe(true);
    const del = await gql(`mutation ($id: ID!) { deleteDestination(id: $id) { deleted errors { code } } }`, {
      id,
    });
    expect(del.data).toEqual({ deleteDestination: { deleted: true, errors: [] } });
    expect((await gql(`query ($id: ID!) { destination(id: $id) { id } }`, { id })).data).toEqual({
      destination: null,
    });
  });

  it('sends account-level audiences and computed traits as group calls, and refuses them without GROUP', async () => {
    const group = (tier: string, n: number) =>
      gql(`mutation ($input: GroupInput!) { group(input: $input) { ok } }`, {
        input: { userId: 'ann', groupId: `acme-${run}`, traits: { tier }, messageId: `${run}-acme-${n}` },
      });
    expect((await group('gold', 1)).data).toEqual({ group: { ok: true } });
    for (const [mutation, key, definition] of [
      ['createAudience', 'gold_accounts', "trait('tier') = 'gold'"],
      ['createComputedTrait', 'account_orders', "event('Order Completed').count()"],
    ] as const) {
      const res = await gql(
        `mutation ($input: ${mutation === 'createAudience' ? 'CreateAudienceInput' : 'CreateComputedTraitInput'}!) { ${mutation}(input: $input) { ok errors { message } } }`,
        { input: { key, definition, level: 'ACCOUNTS' } },
      );
      expect(res.data?.[mutation], JSON.stringify(res)).toMatchObject({ ok: true });
    }
    await poll(
      () =>
        gql(
          `{ audience(key: "gold_accounts") { status size } computedTrait(key: "account_orders") { status } }`,
        ),
      (r) =>
        (r.data?.audience as { status: string; size: number } | null)?.size === 1 &&
        (r.data?.computedTrait as { status: string } | null)?.status === 'LIVE',
    );

    // Account-level keys need GROUP among the modes.
    const refused = await gql(CREATE, {
      input: {
        name: 'No group',
        url: 'http://127.0.0.1:9/hook',
        audiences: ['gold_accounts'],
        modes: ['IDENTIFY'],
      },
    });
    expect(refused.data?.createWebhookDestination).toMatchObject({
      ok: false,
      errors: [{ code: 'INVALID_MODES', path: ['input', 'modes'] }],
    });

    // The default modes (IDENTIFY, TRACK, GROUP): the initial sync is the account's membership and value.
    const { id, receiver } = await connect({
      name: 'Accounts',
      audiences: ['gold_accounts'],
      computedTraits: ['account_orders'],
    });
    const groupId = `acme-${run}`;
    const groupCalls = () => receiver.accepted().filter((c) => c.body.groupId === groupId);
    const synced = await poll(
      async () => groupCalls(),
      (calls) => calls.length >= 2,
    );
    expect(synced.map((c) => c.body.traits)).toEqual(
      expect.arrayContaining([{ gold_accounts: true }, { account_orders: 1 }]),
    );
    expect(synced[0]?.body).toEqual({
      type: 'group',
      messageId: expect.stringMatching(/^sg-sync-[0-9a-f]{32}-group$/),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      groupId,
      traits: expect.any(Object),
      context: {
        personas: {
          computation_class: expect.stringMatching(/^(audience|trait)$/),
          computation_key: expect.any(String),
          computation_id: expect.any(String),
          space_id: space,
          namespace: `spa_${space}`,
          group_id: groupId,
        },
        library: { name: 'stitchgraph', version: '0.1.0' },
      },
    });
    expect(synced.every((c) => receiver.verified(c) && c.body.userId === undefined)).toBe(true);

    // A member's order moves the account's count; a tier change takes the account out.
    await call('track', { userId: 'ann', event: 'Order Completed', messageId: `${run}-ann-acme-o2` });
    expect((await group('silver', 2)).data).toEqual({ group: { ok: true } });
    const changed = await poll(
      async () => groupCalls().slice(2),
      (calls) => calls.length >= 2,
    );
    expect(changed.map((c) => c.body.traits)).toEqual(
      expect.arrayContaining([{ account_orders: 2 }, { gold_accounts: false }]),
    );
    const listed = await poll(
      () => deliveries(id),
      (d) => d.counts.delivered === 4,
    );
    expect(listed.nodes.map((n) => [n.mode, n.subjectId])).toEqual(
      listed.nodes.map(() => ['GROUP', groupId]),
    );
  });

  it('restates the survivor in the identify mode when a member merges away into a non-member', async () => {
    // Dee (pro, the older profile) is no cart viewer; an anonymous visitor viewing a cart is one. When the
    // visitor turns out to be Dee, Dee survives the merge and stays out (pro): the receiver, which heard
    // the visitor enter, must hear that the person is out.
    const anon = `${run}-visitor`;
    const created = await gql(
      `mutation ($input: CreateAudienceInput!) { createAudience(input: $input) { ok errors { message } } }`,
      {
        input: {
          key: 'cart_viewers',
          definition: "event('Cart Viewed').count() >= 1 AND NOT trait('plan') = 'pro'",
          includeAnonymous: true,
        },
      },
    );
    expect(created.data?.createAudience, JSON.stringify(created)).toMatchObject({ ok: true });
    await poll(
      () => audienceSize('cart_viewers'),
      (a) => a?.status === 'LIVE',
    );
    const { receiver } = await connect({ name: 'Merges', audiences: ['cart_viewers'], modes: ['IDENTIFY'] });
    await plan('dee', 'pro', 0);
    await call('track', { anonymousId: anon, event: 'Cart Viewed', messageId: `${run}-cart-1` });
    const visitor = (calls: ReceivedCall[]) =>
      calls
        .filter((c) => c.body.anonymousId === anon && c.body.userId === undefined)
        .map((c) => c.body.traits);
    expect(
      await poll(
        async () => visitor(receiver.accepted()),
        (l) => l.length >= 1,
      ),
    ).toEqual([{ cart_viewers: true }]);

    await call('identify', { userId: 'dee', anonymousId: anon, messageId: `${run}-dee-merge` });
    const dee = await poll(
      async () => receiver.accepted().filter((c) => c.body.userId === 'dee'),
      (l) => l.length >= 1,
    );
    expect(dee.map((c) => c.body)).toEqual([
      expect.objectContaining({
        type: 'identify',
        userId: 'dee',
        messageId: expect.stringMatching(/^sg-\d+-restate$/),
        traits: { cart_viewers: false },
      }),
    ]);
    // The visitor's own exit is not sent: its ids are Dee's now, and Dee's state is what was restated.
    expect(visitor(receiver.accepted())).toEqual([{ cart_viewers: true }]);
  });

  it('counts attempts by outcome and shows the outbox in /metrics', async () => {
    const text = await (await fetch(service.metricsUrl ?? '')).text();
    const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    // The tests above delivered, retried (the first attempts refused) and gave up (the receiver down).
    for (const outcome of ['delivered', 'retry', 'failed'])
      expect(
        sample(`stitchgraph_destination_deliveries_total\\{outcome="${outcome}"\\}`),
        outcome,
      ).toBeGreaterThan(0);
    expect(sample('stitchgraph_destination_outbox_pending')).toBeGreaterThanOrEqual(0);
    expect(sample('stitchgraph_destination_outbox_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('refreshes the outbox statistics in the transaction of a large initial sync, then sends it all', async () => {
    // ADR 0023, "Statistics after an initial sync": planned against statistics that still saw the outbox as
    // empty, the sender's rounds anti-joined and sorted every pending row (W8 stalled on it).
    const writeKey = (await service.services.spaces.createKey(space, 'write')).secret;
    const people = ANALYZE_AFTER_QUEUED + 50;
    for (let from = 0; from < people; from += 100) {
      const batch = Array.from({ length: Math.min(100, people - from) }, (_, i) => ({
        type: 'identify',
        userId: `bulk-${from + i}`,
        messageId: `${run}-bulk-${from + i}`,
        traits: { cohort: 'bulk' },
      }));
      const res = await fetch(`${service.url}/v1/batch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        },
        body: JSON.stringify({ batch }),
      });
      expect(res.status).toBe(200);
    }
    const created = await gql(
      `mutation { createAudience(input: { key: "bulk", definition: "trait('cohort') = 'bulk'" }) { ok } }`,
    );
    expect(created.data).toEqual({ createAudience: { ok: true } });
    await poll(
      () => audienceSize('bulk'),
      (a) => a?.status === 'LIVE' && a.size === people,
      60_000,
    );
    const analyzedAt = async () =>
      (
        await db.pool.query<{ at: Date | null }>(
          `SELECT last_analyze AS at FROM pg_stat_user_tables WHERE relname = 'destination_deliveries'`,
        )
      ).rows[0]?.at ?? null;
    const before = await analyzedAt();
    const receiver = await startReceiver();
    receivers.push(receiver);
    const res = await gql(CREATE, {
      input: { name: 'Bulk', url: receiver.url, audiences: ['bulk'], modes: ['IDENTIFY'] },
    });
    const answer = res.data?.createWebhookDestination as {
      ok: boolean;
      initialSyncQueued: number;
      signingSecret: string;
    };
    expect(answer, JSON.stringify(res)).toMatchObject({ ok: true, initialSyncQueued: people });
    receiver.setSecret(answer.signingSecret);
    const after = await analyzedAt();
    expect(after).not.toBeNull();
    expect(after!.getTime()).toBeGreaterThan(before?.getTime() ?? 0);
    const [stats] = (
      await db.pool.query<{ reltuples: number }>(
        `SELECT reltuples FROM pg_class WHERE relname = 'destination_deliveries'`,
      )
    ).rows;
    expect(stats!.reltuples).toBeGreaterThanOrEqual(people);
    const sent = await poll(
      async () => receiver.accepted().filter((c) => String(c.body.userId).startsWith('bulk-')),
      (c) => new Set(c.map((call) => call.body.userId)).size === people,
      60_000,
    );
    expect(new Set(sent.map((c) => JSON.stringify(c.body.traits)))).toEqual(
      new Set([JSON.stringify({ bulk: true })]),
    );
  });
});
