// Deletion and suppression through the real service (SEMANTICS.md §12, docs/adr/0027-deletion-and-
// suppression.md): suppressed identifiers answered 200 with `suppressed: true` and never applied (alone and
// in a batch beside applied items), a second process seeing a suppression within its refresh bound,
// unsuppress, deletion leaving nothing readable through GraphQL, the Profile API or the event store
// (merged-away ids, computed values and audience histories included), scopes and refusals, and a deletion
// racing concurrent ingestion of the same person. Workers run with the real clock; answers are polled.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCommand, UsageError } from '../../src/cli.ts';
import type { Service } from '../../src/service.ts';
import { poll, postGraphQL } from '../support/api.ts';
import { startTestService } from '../support/service.ts';

let service: Service;
let second: Service;
let db: pg.Pool;
const run = randomUUID().slice(0, 8);
const keys: Record<string, { admin: string; reader: string; write: string }> = {};

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

async function newSpace(name: string): Promise<string> {
  const space = `${name}-${run}`;
  const { spaces } = service.services;
  await spaces.createSpace(space);
  keys[space] = {
    admin: (await spaces.createKey(space, 'token', { scopes: ['read', 'write', 'admin'] })).secret,
    reader: (await spaces.createKey(space, 'token')).secret,
    write: (await spaces.createKey(space, 'write')).secret,
  };
  return space;
}

const gql = (
  space: string,
  query: string,
  variables: Record<string, unknown> = {},
  as: 'admin' | 'reader' = 'admin',
) => postGraphQL(service.url, keys[space]![as], query, variables);

async function post(space: string, path: string, body: unknown, target: Service = service) {
  const res = await fetch(`${target.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(keys[space]!.write) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function profileApi(space: string, path: string) {
  const res = await fetch(`${service.url}/v1/spaces/${space}/collections/users/profiles/${path}`, {
    headers: { authorization: basic(keys[space]!.reader) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function sql(text: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  return (await db.query(text, params)).rows as Record<string, unknown>[];
}

const REQUEST = `mutation ($input: CreateRegulationInput!) {
  createRegulation(input: $input) {
    ok
    regulation { id type subject status profiles identifiers events error { code message } createdAt finishedAt }
    errors { code message path }
  }
}`;

interface RegulationAnswer {
  id: string;
  type: string;
  subject: string;
  status: string;
  profiles: number;
  identifiers: number;
  events: number;
  error: { code: string; message: string } | null;
  createdAt: string;
  finishedAt: string | null;
}

async function request(space: string, type: string, subjectType: string, value: string) {
  const res = await gql(space, REQUEST, { input: { type, subject: { type: subjectType, value } } });
  expect(res.errors, JSON.stringify(res)).toBeUndefined();
  const answer = res.data?.createRegulation as { ok: boolean; regulation: RegulationAnswer };
  expect(answer.ok, JSON.stringify(answer)).toBe(true);
  return answer.regulation;
}

async function finished(space: string, id: string, timeoutMs = 30_000): Promise<RegulationAnswer> {
  const read = async () => {
    const res = await gql(
      space,
      `query ($id: ID!) { regulation(id: $id) { id type subject status profiles identifiers events error { code message } createdAt finishedAt } }`,
      { id },
      'reader',
    );
    return res.data?.regulation as RegulationAnswer;
  };
  return poll(read, (r) => r.status === 'FINISHED' || r.status === 'FAILED', timeoutMs);
}

const PROFILE_BY = `query ($type: String!, $value: String!) { profile(by: { type: $type, value: $value }) { id } }`;

async function profileId(space: string, type: string, value: string): Promise<string | null> {
  const res = await gql(space, PROFILE_BY, { type, value }, 'reader');
  expect(res.errors, JSON.stringify(res)).toBeUndefined();
  return (res.data?.profile as { id: string } | null)?.id ?? null;
}

beforeAll(async () => {
  [service, second] = await Promise.all([startTestService(), startTestService()]);
  db = new pg.Pool({ connectionString: inject('postgres').url, max: 2 });
});
afterAll(async () => {
  await Promise.all([service?.stop(), second?.stop(), db?.end()]);
});

describe('suppression', () => {
  let space = '';
  beforeAll(async () => {
    space = await newSpace('supp');
    const identify = await post(space, '/v1/identify', {
      userId: 's-user',
      anonymousId: 's-anon',
      traits: { email: 'Sam@Example.com' },
      messageId: `${run}-s-id`,
    });
    expect(identify.status).toBe(200);
  });

  it('suppresses every identifier of the profile, named by any of them', async () => {
    const reg = await request(space, 'SUPPRESS_ONLY', 'email', ' SAM@example.com');
    expect(reg).toMatchObject({
      type: 'SUPPRESS_ONLY',
      subject: 'email:sam@example.com',
      status: 'FINISHED',
      identifiers: 3,
      profiles: 0,
      events: 0,
      error: null,
    });
    expect(reg.finishedAt).toEqual(expect.stringMatching(/^\d{4}-/));
  });

  it('answers a suppressed event 200 with suppressed: true and stores nothing of it', async () => {
    const res = await post(space, '/v1/track', {
      userId: 's-user',
      event: 'Clicked',
      messageId: `${run}-s-1`,
    });
    expect(res).toEqual({
      status: 200,
      body: { success: true, messageId: `${run}-s-1`, duplicate: false, suppressed: true },
    });
    const gqlRes = await gql(
      space,
      `mutation ($input: TrackInput!) { track(input: $input) { ok suppressed duplicate profileId error { code } } }`,
      { input: { anonymousId: 's-anon', event: 'Clicked', messageId: `${run}-s-2` } },
    );
    expect(gqlRes).toEqual({
      data: { track: { ok: true, suppressed: true, duplicate: false, profileId: null, error: null } },
    });
    expect(
      await sql('SELECT 1 FROM message_ids WHERE space = $1 AND message_id = ANY($2)', [
        space,
        [`${run}-s-1`, `${run}-s-2`],
      ]),
    ).toEqual([]);
  });

  it('applies the rest of a batch beside suppressed items', async () => {
    const res = await post(space, '/v1/batch', {
      batch: [
        { type: 'track', userId: 's-user', event: 'A', messageId: `${run}-b-1` },
        { type: 'track', userId: 'other-user', event: 'A', messageId: `${run}-b-2` },
        { type: 'identify', anonymousId: 'x', traits: { email: 'sam@example.com' }, messageId: `${run}-b-3` },
      ],
    });
    expect(res).toEqual({
      status: 200,
      body: {
        success: true,
        applied: 1,
        duplicates: 0,
        suppressed: 2,
        refused: 0,
        results: [
          { ok: true, messageId: `${run}-b-1`, duplicate: false, suppressed: true, error: null },
          { ok: true, messageId: `${run}-b-2`, duplicate: false, error: null },
          { ok: true, messageId: `${run}-b-3`, duplicate: false, suppressed: true, error: null },
        ],
      },
    });
    expect(await profileId(space, 'user_id', 'other-user')).not.toBeNull();
    expect(await profileId(space, 'anonymous_id', 'x')).toBeNull();
  });

  it('counts suppressed events in the metrics', async () => {
    const text = await (await fetch(service.metricsUrl as string)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('stitchgraph_ingest_events_total{outcome="suppressed"'));
    expect(Number(line?.split(' ').at(-1))).toBeGreaterThanOrEqual(4);
  });

  it('reaches a second process within its refresh bound (1 s)', async () => {
    // The second process has read the space's set already.
    const warm = await post(
      space,
      '/v1/track',
      { userId: 'p2-user', event: 'A', messageId: `${run}-p2-0` },
      second,
    );
    expect(warm.body).toMatchObject({ success: true });
    expect(warm.body.suppressed).toBeUndefined();
    await request(space, 'SUPPRESS_ONLY', 'user_id', 'p2-user');
    const started = Date.now();
    let n = 0;
    const answer = await poll(
      () =>
        post(space, '/v1/track', { userId: 'p2-user', event: 'A', messageId: `${run}-p2-${++n}` }, second),
      (r) => r.body.suppressed === true,
      5_000,
    );
    expect(answer.body.suppressed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('unsuppress lets the person in again', async () => {
    const reg = await request(space, 'UNSUPPRESS', 'user_id', 's-user');
    expect(reg).toMatchObject({ type: 'UNSUPPRESS', status: 'FINISHED', identifiers: 3 });
    const res = await post(space, '/v1/track', {
      anonymousId: 's-anon',
      event: 'Back',
      messageId: `${run}-s-3`,
    });
    expect(res.body).toEqual({ success: true, messageId: `${run}-s-3`, duplicate: false });
    const second2 = await poll(
      () =>
        post(
          space,
          '/v1/track',
          { userId: 's-user', event: 'Back', messageId: `${run}-s-4-${Date.now()}` },
          second,
        ),
      (r) => r.body.suppressed === undefined,
      5_000,
    );
    expect(second2.body.suppressed).toBeUndefined();
    // The other request's suppression stays.
    const still = await post(space, '/v1/track', { userId: 'p2-user', event: 'A', messageId: `${run}-p2-x` });
    expect(still.body.suppressed).toBe(true);
  });

  it('refuses bad input with a code and the field, and needs the admin scope', async () => {
    const blank = await gql(space, REQUEST, {
      input: { type: 'SUPPRESS_ONLY', subject: { type: 'email', value: '  ' } },
    });
    expect(blank).toEqual({
      data: {
        createRegulation: {
          ok: false,
          regulation: null,
          errors: [{ code: 'VALIDATION_FAILED', message: expect.any(String), path: ['input', 'subject'] }],
        },
      },
    });
    const long = await gql(space, REQUEST, {
      input: { type: 'DELETE_ONLY', subject: { type: 'user_id', value: 'x'.repeat(1025) } },
    });
    expect(long.data?.createRegulation).toMatchObject({
      ok: false,
      errors: [{ code: 'VALIDATION_FAILED', path: ['input', 'subject', 'value'] }],
    });
    const badType = await gql(space, REQUEST, {
      input: { type: 'ERASE', subject: { type: 'user_id', value: 'a' } },
    });
    expect(badType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const forbidden = await gql(
      space,
      REQUEST,
      { input: { type: 'SUPPRESS_ONLY', subject: { type: 'user_id', value: 'a' } } },
      'reader',
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lists the requests, newest first, to a reader', async () => {
    const res = await gql(
      space,
      `{ regulations(first: 2) { nodes { type subject status } pageInfo { hasNextPage endCursor } } }`,
      {},
      'reader',
    );
    const page = res.data?.regulations as {
      nodes: unknown[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
    expect(page.nodes).toEqual([
      { type: 'UNSUPPRESS', subject: 'user_id:s-user', status: 'FINISHED' },
      { type: 'SUPPRESS_ONLY', subject: 'user_id:p2-user', status: 'FINISHED' },
    ]);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await gql(
      space,
      `query ($after: String) { regulations(first: 5, after: $after) { nodes { subject } } }`,
      { after: page.pageInfo.endCursor },
      'reader',
    );
    expect(next.data?.regulations).toEqual({ nodes: [{ subject: 'email:sam@example.com' }] });
  });
});

describe('deletion', () => {
  let space = '';
  let survivor = '';
  let mergedAway = '';

  beforeAll(async () => {
    space = await newSpace('del');
    for (const [key, definition] of [
      ['d_orders', "event('Order Completed').count()"],
      ['d_buyers', "event('Order Completed').count() >= 1"],
    ] as const) {
      const mutation = key === 'd_orders' ? 'createComputedTrait' : 'createAudience';
      const input = key === 'd_orders' ? 'CreateComputedTraitInput' : 'CreateAudienceInput';
      const res = await gql(
        space,
        `mutation ($input: ${input}!) { ${mutation}(input: $input) { errors { code } } }`,
        {
          input: { key, definition },
        },
      );
      expect(res.errors, JSON.stringify(res)).toBeUndefined();
    }
    // An anonymous profile first (the survivor: oldest), then the user's own, then the call that merges them.
    expect(
      (await post(space, '/v1/track', { anonymousId: 'd-anon', event: 'Viewed', messageId: `${run}-d-1` }))
        .status,
    ).toBe(200);
    expect(
      (
        await post(space, '/v1/identify', {
          userId: 'd-user',
          traits: { email: 'dee@example.com', plan: 'pro' },
          messageId: `${run}-d-2`,
        })
      ).status,
    ).toBe(200);
    survivor = (await profileId(space, 'anonymous_id', 'd-anon')) as string;
    mergedAway = (await profileId(space, 'user_id', 'd-user')) as string;
    expect(survivor).not.toEqual(mergedAway);
    await post(space, '/v1/identify', { userId: 'd-user', anonymousId: 'd-anon', messageId: `${run}-d-3` });
    expect(await profileId(space, 'user_id', 'd-user')).toBe(survivor);
    await post(space, '/v1/track', { userId: 'd-user', event: 'Order Completed', messageId: `${run}-d-4` });
    // Someone else, who must stay.
    await post(space, '/v1/track', {
      userId: 'keep-user',
      event: 'Order Completed',
      messageId: `${run}-k-1`,
    });
    const computed = await poll(
      () =>
        sql('SELECT subject_id, trait_key FROM computed_values WHERE space = $1 AND subject_id = $2', [
          space,
          survivor,
        ]),
      (rows) => rows.length === 2,
    );
    expect(computed).toHaveLength(2);
  });

  it('records the request, its counts and its completion', async () => {
    const reg = await request(space, 'DELETE_ONLY', 'email', 'dee@example.com');
    expect(['INITIALIZED', 'RUNNING']).toContain(reg.status);
    const done = await finished(space, reg.id);
    expect(done).toMatchObject({
      type: 'DELETE_ONLY',
      status: 'FINISHED',
      profiles: 2,
      events: 4,
      error: null,
    });
    expect(done.identifiers).toBeGreaterThanOrEqual(3);
    expect(Date.parse(done.finishedAt as string)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
  });

  it('leaves nothing readable through GraphQL, by any identifier or profile id', async () => {
    for (const [type, value] of [
      ['user_id', 'd-user'],
      ['anonymous_id', 'd-anon'],
      ['email', 'dee@example.com'],
    ] as const)
      expect(await profileId(space, type, value)).toBeNull();
    for (const id of [survivor, mergedAway]) {
      const res = await gql(space, `query ($id: ID!) { profileById(id: $id) { id } }`, { id }, 'reader');
      expect(res).toEqual({ data: { profileById: null } });
    }
    const all = await gql(space, `{ profiles(first: 100) { nodes { id } } }`, {}, 'reader');
    const ids = (all.data?.profiles as { nodes: { id: string }[] }).nodes.map((n) => n.id);
    expect(ids).not.toContain(survivor);
    expect(ids).toHaveLength(1);
  });

  it('leaves nothing readable through the Profile API', async () => {
    for (const path of [
      'user_id:d-user/traits',
      'anonymous_id:d-anon/events',
      'email:dee@example.com/external_ids',
    ])
      expect((await profileApi(space, path)).status).toBe(404);
    expect((await profileApi(space, 'user_id:keep-user/traits')).status).toBe(200);
  });

  it('removes the events, identity rows, computed values and audience histories from the event store', async () => {
    const mids = [`${run}-d-1`, `${run}-d-2`, `${run}-d-3`, `${run}-d-4`];
    for (const table of ['message_ids', 'event_identifiers'])
      expect(
        await sql(`SELECT 1 FROM ${table} WHERE space = $1 AND message_id = ANY($2)`, [space, mids]),
      ).toEqual([]);
    // The months their identifiers had events in go too: no identifier of the person stays.
    expect(
      await sql(`SELECT 1 FROM identifier_months WHERE space = $1 AND key = ANY($2)`, [
        space,
        ['user_id:d-user', 'anonymous_id:d-anon', 'email:dee@example.com'],
      ]),
    ).toEqual([]);
    for (const table of ['tracks', 'identifies'])
      expect(await sql(`SELECT 1 FROM ${table} WHERE space = $1 AND id = ANY($2)`, [space, mids])).toEqual(
        [],
      );
    const ids = [survivor, mergedAway];
    for (const table of ['computed_values', 'computed_value_changes', 'computed_dirty'])
      expect(
        await sql(`SELECT 1 FROM ${table} WHERE space = $1 AND subject_id = ANY($2)`, [space, ids]),
      ).toEqual([]);
    expect(
      await sql('SELECT 1 FROM identity_map WHERE space = $1 AND profile_id = ANY($2)', [space, ids]),
    ).toEqual([]);
    expect(
      await sql(
        'SELECT 1 FROM profile_merges WHERE space = $1 AND (merged_id = ANY($2) OR survivor_id = ANY($2))',
        [space, ids],
      ),
    ).toEqual([]);
    // The other person's data stays, and the change log says which profiles went.
    expect(
      await sql('SELECT 1 FROM tracks WHERE space = $1 AND id = $2', [space, `${run}-k-1`]),
    ).toHaveLength(1);
    const log = await sql("SELECT payload FROM changes WHERE space = $1 AND kind = 'deletions'", [space]);
    expect(log).toHaveLength(1);
    expect((log[0]?.payload as { profileIds: string[] }).profileIds.sort()).toEqual(ids.sort());
    const audience = await gql(
      space,
      `{ audience(key: "d_buyers") { size changes(first: 100) { nodes { subjectId } } } }`,
      {},
      'reader',
    );
    const seen = audience.data?.audience as { size: number; changes: { nodes: { subjectId: string }[] } };
    expect(seen.size).toBe(1);
    expect(seen.changes.nodes.map((n) => n.subjectId)).toHaveLength(1);
    expect(seen.changes.nodes.map((n) => n.subjectId)).not.toContain(survivor);
  });

  it('DELETE_ONLY does not suppress: a later event starts a new profile', async () => {
    const res = await post(space, '/v1/track', { userId: 'd-user', event: 'Back', messageId: `${run}-d-5` });
    expect(res.body).toEqual({ success: true, messageId: `${run}-d-5`, duplicate: false });
    const fresh = await profileId(space, 'user_id', 'd-user');
    expect(fresh).not.toBeNull();
    expect([survivor, mergedAway]).not.toContain(fresh);
  });
});

describe('deletion racing ingestion of the same person', () => {
  it('ends with nothing of the person readable', async () => {
    const space = await newSpace('race');
    let stop = false;
    let sent = 0;
    // Two writers, through both processes, each event carrying the user id and a fresh anonymous id.
    const writer = (target: Service, name: string) =>
      (async () => {
        while (!stop) {
          const n = ++sent;
          const batch = Array.from({ length: 5 }, (_, i) => ({
            type: i % 2 === 0 ? 'track' : 'identify',
            userId: 'r-user',
            anonymousId: `r-anon-${name}-${n}-${i}`,
            event: 'Raced',
            traits: { email: 'race@example.com' },
            messageId: `${run}-r-${name}-${n}-${i}`,
          }));
          const res = await post(space, '/v1/batch', { batch }, target);
          // 429 is the API's back-pressure when its queue is full (a busy machine): SDKs wait and go on.
          if (res.status === 429) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            continue;
          }
          expect(res.status).toBe(200);
        }
      })();
    const writers = [writer(service, 'a'), writer(second, 'b'), writer(service, 'c')];
    await poll(
      () => profileId(space, 'user_id', 'r-user'),
      (id) => id !== null,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reg = await request(space, 'SUPPRESS_WITH_DELETE', 'user_id', 'r-user');
    // Writing goes on while the deletion runs.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    stop = true;
    await Promise.all(writers);
    const done = await finished(space, reg.id, 60_000);
    expect(done).toMatchObject({ status: 'FINISHED', error: null });
    expect(done.events).toBeGreaterThan(0);
    expect(sent).toBeGreaterThan(3);

    expect(await profileId(space, 'user_id', 'r-user')).toBeNull();
    expect(await profileId(space, 'email', 'race@example.com')).toBeNull();
    const all = await gql(
      space,
      `{ profiles(first: 100) { nodes { id createdAt identifiers { type value } } } }`,
      {},
      'reader',
    );
    expect(all, JSON.stringify({ all, at: done })).toEqual({ data: { profiles: { nodes: [] } } });
    expect((await profileApi(space, 'user_id:r-user/events')).status).toBe(404);
    for (const table of [
      'message_ids',
      'event_identifiers',
      'identifier_months',
      'identity_map',
      'computed_values',
    ])
      expect(await sql(`SELECT 1 FROM ${table} WHERE space = $1`, [space])).toEqual([]);
    for (const table of ['tracks', 'identifies'])
      expect(await sql(`SELECT 1 FROM ${table} WHERE space = $1`, [space])).toEqual([]);
    // And it stays out: the person is suppressed in both processes.
    for (const target of [service, second]) {
      const res = await post(
        space,
        '/v1/track',
        { userId: 'r-user', event: 'Late', messageId: `${run}-late-${target.url}` },
        target,
      );
      expect(res.body.suppressed).toBe(true);
    }
  });
});

describe('the CLI', () => {
  it('creates a request by type:value, waits for a deletion, and lists requests', async () => {
    const space = await newSpace('cli');
    await post(space, '/v1/identify', {
      userId: 'c-user',
      traits: { email: 'cee@example.com' },
      messageId: `${run}-c-1`,
    });
    const out = await runCommand(
      ['regulations', 'create', 'SUPPRESS_WITH_DELETE', 'email:Cee@example.com', '--space', space],
      service.services,
    );
    expect(out).toMatch(
      /^reg_[0-9a-f]+\tSUPPRESS_WITH_DELETE\temail:cee@example.com\tFINISHED at \S+\t1 profiles, \d+ identifiers, 1 events$/,
    );
    expect(await profileId(space, 'user_id', 'c-user')).toBeNull();
    const list = await runCommand(['regulations', 'list', '--space', space], service.services);
    expect(list.split('\n')).toHaveLength(1);
    // A request by group_id deletes an account, and says so.
    await post(space, '/v1/group', { userId: 'd-user', groupId: 'cli-acme', messageId: `${run}-c-2` });
    const account = await runCommand(
      ['regulations', 'create', 'DELETE_ONLY', 'group_id:cli-acme', '--space', space],
      service.services,
    );
    expect(account).toMatch(/\tgroup_id:cli-acme\tFINISHED at \S+\t1 accounts, 0 identifiers, 1 events$/);
    await expect(
      runCommand(['regulations', 'create', 'ERASE', 'user_id:x', '--space', space], service.services),
    ).rejects.toThrow(/VALIDATION_FAILED: type must be one of/);
    await expect(
      runCommand(['regulations', 'create', 'DELETE_ONLY', 'nocolon', '--space', space], service.services),
    ).rejects.toBeInstanceOf(UsageError);
  });
});

describe('recovery', () => {
  it('takes over a deletion whose process went away (RUNNING, silent past the 60 s lease)', async () => {
    const space = await newSpace('recover');
    await post(space, '/v1/identify', { userId: 'rec-user', messageId: `${run}-rec-1` });
    expect(await profileId(space, 'user_id', 'rec-user')).not.toBeNull();
    const id = `reg_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    await sql(
      `INSERT INTO regulations (id, space, type, subject_key, status, updated_at)
       VALUES ($1, $2, 'DELETE_ONLY', 'user_id:rec-user', 'RUNNING', now() - interval '2 minutes')`,
      [id, space],
    );
    // The recovery pass runs every 10 s in each process.
    const done = await finished(space, id, 40_000);
    expect(done).toMatchObject({ status: 'FINISHED', profiles: 1, events: 1, error: null });
    expect(await profileId(space, 'user_id', 'rec-user')).toBeNull();
  });
});

describe('account deletion by group_id', () => {
  it('deletes the account, its group calls and memberships; its members stay', async () => {
    const space = await newSpace('acct');
    await post(space, '/v1/identify', { userId: 'a-user', messageId: `${run}-a-1` });
    await post(space, '/v1/group', {
      userId: 'a-user',
      groupId: 'acme',
      traits: { name: 'Acme' },
      messageId: `${run}-a-2`,
    });
    await post(space, '/v1/track', { userId: 'a-user', event: 'Used', messageId: `${run}-a-3` });
    const account = `query { account(groupId: "acme") { groupId } }`;
    expect((await gql(space, account, {}, 'reader')).data?.account).toEqual({ groupId: 'acme' });
    await poll(
      () => sql('SELECT 1 FROM account_members WHERE space = $1', [space]),
      (rows) => rows.length === 1,
    );
    const reg = await request(space, 'SUPPRESS_WITH_DELETE', 'group_id', 'acme');
    const done = await finished(space, reg.id);
    expect(done).toMatchObject({ status: 'FINISHED', profiles: 1, events: 1, error: null });
    expect((await gql(space, account, {}, 'reader')).data?.account).toBeNull();
    const res = await fetch(
      `${service.url}/v1/spaces/${space}/collections/accounts/profiles/group_id:acme/traits`,
      {
        headers: { authorization: basic(keys[space]!.reader) },
      },
    );
    expect(res.status).toBe(404);
    expect(await sql('SELECT 1 FROM groups WHERE space = $1', [space])).toEqual([]);
    expect(await sql('SELECT 1 FROM account_members WHERE space = $1', [space])).toEqual([]);
    expect(
      await sql('SELECT 1 FROM message_ids WHERE space = $1 AND message_id = $2', [space, `${run}-a-2`]),
    ).toEqual([]);
    // The member and its own events stay; later group calls for the account are suppressed.
    expect(await profileId(space, 'user_id', 'a-user')).not.toBeNull();
    expect(await sql('SELECT 1 FROM tracks WHERE space = $1', [space])).toHaveLength(1);
    const again = await post(space, '/v1/group', {
      userId: 'a-user',
      groupId: 'acme',
      messageId: `${run}-a-4`,
    });
    expect(again.body.suppressed).toBe(true);
  });
});
