// SQL traits through the real service (SEMANTICS.md §11, docs/adr/0025-sql-traits.md) against a temporary
// DuckDB file and a PostgreSQL database of the test's own on the run's server, both added as sync
// targets: definitions and refusals over GraphQL, runs on demand that send only what changed (counted in
// the event store), removal of traits for absent ids, unknown ids creating profiles, Segment's contract
// refused with codes, the read-only sandbox (writes, timeout, row cap, isolation from the event store),
// the scheduler's slots, `class=sql_trait` in the Profile API, and an audience over a SQL trait.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { callOf } from '../../src/sql-traits/contract.ts';
import { SQL_TRAIT_QUERIES } from '../../src/sql-traits/index.ts';
import { poll, postGraphQL } from '../support/api.ts';
import { startTestService } from '../support/service.ts';
import { openTargetDatabase, queryDuckDb, tempDuckDbFile, TEST_SYNC_KEY } from '../support/sync.ts';

let service: Service;
const run = randomUUID().slice(0, 8);
const space = `sqlt-${run}`;
let admin = '';
let reader = '';
let duck: Awaited<ReturnType<typeof tempDuckDbFile>>;
let pgTarget: Awaited<ReturnType<typeof openTargetDatabase>>;
let duckId = '';
let pgId = '';
const u = (n: number) => `sqlt-${run}-u${n}`;

const gql = (query: string, variables: Record<string, unknown> = {}, secret = admin) =>
  postGraphQL(service.url, secret, query, variables);

const CREATE = `mutation ($input: CreateSqlTraitInput!) {
  createSqlTrait(input: $input) {
    sqlTrait { key level targetId query schedule description status nextRunAt createdAt }
    errors { code message path }
  }
}`;
const RUN = `mutation ($key: String!) {
  runSqlTrait(key: $key) {
    run { run trigger status rows changed removed refused errorCode error startedAt finishedAt }
    errors { code message path }
  }
}`;

interface RunAnswer {
  run: number;
  trigger: string;
  status: string;
  rows: number;
  changed: number;
  removed: number;
  refused: number;
  errorCode: string | null;
  error: string | null;
}

async function create(input: Record<string, unknown>): Promise<void> {
  const res = await gql(CREATE, { input: { targetId: duckId, ...input } });
  expect(res.data?.createSqlTrait, JSON.stringify(res)).toMatchObject({ errors: [] });
}

async function runTrait(key: string): Promise<RunAnswer> {
  const res = await gql(RUN, { key });
  expect(res.data?.runSqlTrait, JSON.stringify(res)).toMatchObject({ errors: [] });
  return (res.data?.runSqlTrait as { run: RunAnswer }).run;
}

/** Creates a trait with `query` on `targetId` and runs it once. */
async function createAndRun(key: string, query: string, targetId = duckId): Promise<RunAnswer> {
  await create({ key, query, targetId });
  return runTrait(key);
}

/** Runs SQL on the DuckDB file read-write, as a user loading data would (no sync holds it meanwhile). */
const duckWrite = (sql: string) => queryDuckDb(duck.path, sql);

/** The identify events SQL traits sent in this space (the event store's own table). */
async function sentIdentifies(): Promise<number> {
  const { rows } = await service.services.events.db.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM identifies WHERE space = $1 AND id LIKE 'sql-trait-%'",
    [space],
  );
  return rows[0]?.n ?? -1;
}

async function traits(lookup: string, traitClass?: string) {
  const query = traitClass === undefined ? '' : `?class=${traitClass}`;
  const res = await fetch(
    `${service.url}/v1/spaces/${space}/collections/users/profiles/${encodeURIComponent(lookup)}/traits${query}`,
    { headers: { authorization: `Basic ${Buffer.from(`${reader}:`).toString('base64')}` } },
  );
  return { status: res.status, body: (await res.json()) as { traits?: Record<string, unknown> } };
}

beforeAll(async () => {
  // The sync worker writes each new target once at its first tick, then not for an hour: the test's own
  // writes to the DuckDB file never meet it.
  service = await startTestService({
    SYNC_SECRET_KEY: TEST_SYNC_KEY,
    SYNC_INTERVAL_MS: '3600000',
    SQL_TRAIT_TIMEOUT_MS: '1500',
    SQL_TRAIT_MAX_ROWS: '50',
  });
  const { spaces, sync } = service.services;
  await spaces.createSpace(space);
  admin = (await spaces.createKey(space, 'token', { scopes: ['write', 'admin'] })).secret;
  reader = (await spaces.createKey(space, 'token')).secret;
  duck = await tempDuckDbFile();
  pgTarget = await openTargetDatabase();
  const d = await sync.addTarget(space, { kind: 'duckdb', location: duck.path });
  const p = await sync.addTarget(space, { kind: 'postgres', location: pgTarget.url });
  if (!d.ok || !p.ok) throw new Error(`targets not added: ${JSON.stringify([d, p])}`);
  duckId = d.target.id;
  pgId = p.target.id;
  await poll(
    () => sync.targets(space),
    (ts) => ts.every((t) => t.lastSyncedAt !== null),
  );
  await duckWrite(
    `CREATE TABLE scores (user_id VARCHAR, score INTEGER, tier VARCHAR);
     INSERT INTO scores VALUES ('${u(1)}', 10, 'bronze'), ('${u(2)}', 20, 'silver')`,
  );
  // u1 exists before the trait runs; u2 does not.
  const res = await gql(`mutation ($input: IdentifyInput!) { identify(input: $input) { ok } }`, {
    input: { userId: u(1), messageId: `${run}-id1`, traits: { plan: 'pro' } },
  });
  expect(res).toEqual({ data: { identify: { ok: true } } });
});
afterAll(async () => {
  await service?.stop();
  await pgTarget?.drop();
  await duck?.remove();
});

describe('sql/sql-traits/', () => {
  it('every statement is prepared by the database, with a header naming its parameters and rows', async () => {
    const db = service.services.events.db;
    const client = await db.pool.connect();
    try {
      for (const [i, name] of SQL_TRAIT_QUERIES.entries()) {
        const text = db.queries.get(name);
        expect(text, name).toMatch(/^-- [a-z-]+: [\s\S]*-- params: [\s\S]*-- returns: /);
        await expect(client.query(`PREPARE sqlt_check_${i} AS ${text}`), name).resolves.toBeDefined();
      }
      await client.query('DEALLOCATE ALL');
    } finally {
      client.release();
    }
  });
});

describe('createSqlTrait', () => {
  it('refuses bad input with a code naming the field', async () => {
    const cases: [Record<string, unknown>, string, string[]][] = [
      [{ key: 'Bad Key', query: 'SELECT 1' }, 'INVALID_KEY', ['input', 'key']],
      [{ key: 'empty_query', query: '  ' }, 'INVALID_QUERY', ['input', 'query']],
      [
        { key: 'no_target', query: 'SELECT 1', targetId: 'sync_nope' },
        'TARGET_NOT_FOUND',
        ['input', 'targetId'],
      ],
      [
        { key: 'often', query: 'SELECT 1', schedule: '*/30 * * * *' },
        'SCHEDULE_TOO_FREQUENT',
        ['input', 'schedule'],
      ],
      [
        { key: 'seconds', query: 'SELECT 1', schedule: '0 0 * * * *' },
        'INVALID_SCHEDULE',
        ['input', 'schedule'],
      ],
      [
        { key: 'words', query: 'SELECT 1', schedule: 'twice a day' },
        'INVALID_SCHEDULE',
        ['input', 'schedule'],
      ],
    ];
    for (const [input, code, path] of cases) {
      const res = await gql(CREATE, { input: { targetId: duckId, ...input } });
      expect(res.data?.createSqlTrait, code).toEqual({
        sqlTrait: null,
        errors: [{ code, message: expect.any(String), path }],
      });
    }
  });

  it('needs the admin scope to define and run, the read scope to read', async () => {
    const res = await gql(
      CREATE,
      { input: { key: 'by_reader', query: 'SELECT 1', targetId: duckId } },
      reader,
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ran = await gql(RUN, { key: 'by_reader' }, reader);
    expect(ran.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const read = await gql('{ sqlTraits { key } }', {}, reader);
    expect(read).toEqual({ data: { sqlTraits: expect.any(Array) } });
  });

  it('defines a trait with the default schedule, PENDING until it runs', async () => {
    const res = await gql(CREATE, {
      input: {
        key: 'score',
        targetId: duckId,
        query: 'SELECT user_id, score, tier FROM scores;',
        description: 'engagement score',
      },
    });
    expect(res.data?.createSqlTrait).toEqual({
      sqlTrait: {
        key: 'score',
        level: 'USERS',
        targetId: duckId,
        query: 'SELECT user_id, score, tier FROM scores;',
        schedule: '0 0,12 * * *',
        description: 'engagement score',
        status: 'PENDING',
        nextRunAt: expect.stringMatching(/T(00|12):00:00\.000Z$/),
        createdAt: expect.any(String),
      },
      errors: [],
    });
    const again = await gql(CREATE, { input: { key: 'score', targetId: duckId, query: 'SELECT 1' } });
    expect(again.data?.createSqlTrait).toMatchObject({ errors: [{ code: 'KEY_TAKEN' }] });
    // One namespace with computed traits and audiences, both ways.
    const computed = await gql(
      `mutation { createComputedTrait(input: { key: "score", definition: "event('X').count()" }) { ok errors { code } } }`,
    );
    expect(computed.data?.createComputedTrait).toEqual({ ok: false, errors: [{ code: 'KEY_TAKEN' }] });
    const audience = await gql(
      `mutation { createAudience(input: { key: "sqlt_taken", definition: "trait('plan') = 'nobody'" }) { ok } }`,
    );
    expect(audience.data?.createAudience).toEqual({ ok: true });
    const taken = await gql(CREATE, { input: { key: 'sqlt_taken', targetId: duckId, query: 'SELECT 1' } });
    expect(taken.data?.createSqlTrait).toMatchObject({ errors: [{ code: 'KEY_TAKEN' }] });
  });
});

describe('runs', () => {
  it('runs on demand: every row is sent; an unknown id creates a profile', async () => {
    const before = await sentIdentifies();
    const first = await runTrait('score');
    expect(first).toMatchObject({
      run: 1,
      trigger: 'MANUAL',
      status: 'SUCCEEDED',
      rows: 2,
      changed: 2,
      removed: 0,
      refused: 0,
      errorCode: null,
    });
    expect(await sentIdentifies()).toBe(before + 2);
    expect((await traits(`user_id:${u(1)}`)).body.traits).toEqual({ plan: 'pro', score: 10, tier: 'bronze' });
    expect((await traits(`user_id:${u(2)}`)).body.traits).toEqual({ score: 20, tier: 'silver' });
    const listed = await gql('{ sqlTrait(key: "score") { status runs(first: 5) { run status changed } } }');
    expect(listed.data?.sqlTrait).toEqual({
      status: 'LIVE',
      runs: [{ run: 1, status: 'SUCCEEDED', changed: 2 }],
    });
  });

  it('shows SQL traits under class=sql_trait, and not under class=custom_trait', async () => {
    expect((await traits(`user_id:${u(1)}`, 'sql_trait')).body.traits).toEqual({ score: 10, tier: 'bronze' });
    expect((await traits(`user_id:${u(1)}`, 'custom_trait')).body.traits).toEqual({ plan: 'pro' });
  });

  it('sends nothing again when nothing changed, and only changed rows after a change', async () => {
    const before = await sentIdentifies();
    expect(await runTrait('score')).toMatchObject({ run: 2, status: 'SUCCEEDED', rows: 2, changed: 0 });
    expect(await sentIdentifies()).toBe(before);
    await duckWrite(`UPDATE scores SET score = 25 WHERE user_id = '${u(2)}';
                     INSERT INTO scores VALUES ('${u(3)}', 5, 'bronze')`);
    expect(await runTrait('score')).toMatchObject({ run: 3, rows: 3, changed: 2, removed: 0 });
    expect(await sentIdentifies()).toBe(before + 2);
    expect((await traits(`user_id:${u(2)}`)).body.traits).toEqual({ score: 25, tier: 'silver' });
    expect((await traits(`user_id:${u(3)}`)).body.traits).toEqual({ score: 5, tier: 'bronze' });
  });

  it("sends a run's calls again as duplicates (the messageId is the trait's, the basis run's, the id's and the traits')", async () => {
    // Run 1 (no run succeeded before it) sent this row.
    const row = { id: u(1), traits: { score: 10, tier: 'bronze' } };
    const [again] = await service.services.ingest.internal(space, [
      { type: 'identify', input: callOf('score', { run: 1, basis: 0 }, 'user_id', row) },
    ]);
    expect(again).toMatchObject({ ok: true, duplicate: true });
  });

  it('after a run that died having sent rows it did not record, the next run sends them as duplicates', async () => {
    const listed = await gql('{ sqlTrait(key: "score") { runs(first: 1) { run status } } }');
    const [last] = (listed.data?.sqlTrait as { runs: { run: number; status: string }[] }).runs;
    expect(last?.status).toBe('SUCCEEDED');
    await duckWrite(`UPDATE scores SET score = 31 WHERE user_id = '${u(1)}'`);
    // A run that died: it sent u1's new score (basis: the last run that succeeded) and recorded nothing.
    const dead = { run: (last?.run ?? 0) + 1, basis: last?.run ?? 0 };
    const row = { id: u(1), traits: { score: 31, tier: 'bronze' } };
    const [sent] = await service.services.ingest.internal(space, [
      { type: 'identify', input: callOf('score', dead, 'user_id', row) },
    ]);
    expect(sent).toMatchObject({ ok: true, duplicate: false });
    const before = await sentIdentifies();
    // The next run compares with the same values, so it sends the same call: a duplicate, not a new event.
    expect(await runTrait('score')).toMatchObject({ status: 'SUCCEEDED', changed: 1 });
    expect(await sentIdentifies()).toBe(before);
    expect((await traits(`user_id:${u(1)}`)).body.traits).toMatchObject({ score: 31 });
  });

  it('fails a run whose process stopped (its heartbeat is old), and runs again', async () => {
    const db = service.services.events.db;
    await db.pool.query(
      `INSERT INTO sql_trait_runs (space, key, run, trigger, status, started_at, heartbeat_at)
       VALUES ($1, 'score', 100, 'SCHEDULE', 'RUNNING', now() - interval '1 hour', now() - interval '1 hour')`,
      [space],
    );
    expect(await runTrait('score')).toMatchObject({ run: 101, status: 'SUCCEEDED', changed: 0 });
    const res = await gql('{ sqlTrait(key: "score") { runs(first: 2) { run status errorCode } } }');
    expect(res.data?.sqlTrait).toEqual({
      runs: [
        { run: 101, status: 'SUCCEEDED', errorCode: null },
        { run: 100, status: 'FAILED', errorCode: 'INTERRUPTED' },
      ],
    });
  });

  it('removes the traits of an id absent from the next run', async () => {
    await duckWrite(`DELETE FROM scores WHERE user_id = '${u(1)}'`);
    expect(await runTrait('score')).toMatchObject({ rows: 2, changed: 0, removed: 1 });
    expect((await traits(`user_id:${u(1)}`)).body.traits).toEqual({ plan: 'pro' });
    // Gone from the values: a later run does not remove it again.
    expect(await runTrait('score')).toMatchObject({ changed: 0, removed: 0 });
  });

  it('finds or creates profiles by email', async () => {
    const email = `Sqlt-${run}@Example.com`;
    expect(await createAndRun('by_email', `SELECT '${email}' AS email, 3 AS visits`)).toMatchObject({
      status: 'SUCCEEDED',
      changed: 1,
    });
    expect((await traits(`email:${email.toLowerCase()}`, 'sql_trait')).body.traits).toEqual({ visits: 3 });
  });

  it("forgets what it sent for a deleted person: the next run sends the warehouse's row anew", async () => {
    const email = `sqlt-${run}@example.com`;
    const values = async () =>
      (
        await service.services.events.db.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM sql_trait_values WHERE space = $1 AND key = 'by_email'",
          [space],
        )
      ).rows[0]?.n;
    expect(await values()).toBe(1);
    const asked = await service.services.privacy.request(space, 'DELETE_ONLY', {
      type: 'email',
      value: email,
    });
    expect(asked.ok).toBe(true);
    await service.services.privacy.idle();
    expect((await traits(`email:${email}`)).status).toBe(404);
    expect(await values()).toBe(0);
    // The warehouse still has the row (deleting it there is the customer's): the next run sends it, and
    // it starts a new profile, as any later data does after DELETE_ONLY.
    expect(await runTrait('by_email')).toMatchObject({ status: 'SUCCEEDED', changed: 1, removed: 0 });
    expect((await traits(`email:${email}`, 'sql_trait')).body.traits).toEqual({ visits: 3 });
  });

  it('refuses a second run while one is under way', async () => {
    await create({ key: 'slow_once', query: 'SELECT user_id, score FROM scores' });
    const [a, b] = await Promise.all([gql(RUN, { key: 'slow_once' }), gql(RUN, { key: 'slow_once' })]);
    const codes = [a, b].map(
      (r) => (r.data?.runSqlTrait as { errors: { code: string }[] }).errors[0]?.code ?? 'ran',
    );
    // The two may also have run one after the other; never both at once.
    expect(codes.filter((c) => c === 'ran').length).toBeGreaterThanOrEqual(1);
    for (const c of codes) expect(['ran', 'ALREADY_RUNNING']).toContain(c);
    const unknown = await gql(RUN, { key: 'nope' });
    expect(unknown.data?.runSqlTrait).toEqual({
      run: null,
      errors: [{ code: 'NOT_FOUND', message: expect.any(String), path: ['key'] }],
    });
  });
});

describe("the README's example", () => {
  it('counts the pages of each user over the synced tables and feeds an audience', async () => {
    const send = (input: Record<string, unknown>) =>
      service.services.ingest.send(space, input.type as 'page' | 'identify', input);
    const jane = `sqlt-${run}-jane`;
    await send({ type: 'page', anonymousId: `${jane}-a1`, name: 'Pricing', messageId: `${run}-r1` });
    await send({ type: 'identify', anonymousId: `${jane}-a1`, userId: jane, messageId: `${run}-r2` });
    await send({ type: 'page', anonymousId: `${jane}-a2`, name: 'Docs', messageId: `${run}-r3` });
    await send({ type: 'identify', anonymousId: `${jane}-a2`, userId: jane, messageId: `${run}-r4` });
    await service.services.sync.catchUp(duckId);
    const query = `SELECT i.value AS user_id, count(*) AS pages_seen
FROM pages p
JOIN profile_merges m ON m.segment_id = p.segment_id
JOIN user_identifiers i ON i.canonical_segment_id = m.canonical_segment_id AND i.type = 'user_id'
GROUP BY i.value`;
    expect(await createAndRun('pages_seen', query)).toMatchObject({
      status: 'SUCCEEDED',
      rows: 1,
      changed: 1,
      removed: 0,
      refused: 0,
    });
    const answer = await traits(`user_id:${jane}`, 'sql_trait');
    expect(answer.body).toEqual({
      traits: { pages_seen: 2 },
      cursor: {
        url: `/v1/spaces/${space}/collections/users/profiles/user_id%3A${jane}/traits?class=sql_trait`,
        has_more: false,
        next: '',
        limit: 10,
      },
    });
    const res = await gql(
      `mutation ($input: CreateAudienceInput!) { createAudience(input: $input) { ok errors { code } } }`,
      { input: { key: 'readers', definition: "trait('pages_seen') >= 2" } },
    );
    expect(res.data?.createAudience).toEqual({ ok: true, errors: [] });
    const size = await poll(
      async () => (await gql('{ audience(key: "readers") { status size } }')).data?.audience,
      (a) => {
        const got = a as { status: string; size: number } | undefined;
        return got?.status === 'LIVE' && got.size === 1;
      },
    );
    expect(size).toEqual({ status: 'LIVE', size: 1 });
  });
});

describe('account-level traits', () => {
  it('write a group_id row on the account (created when missing), feed an account audience, and remove absent ids', async () => {
    const acme = `acme-${run}`;
    const beta = `beta-${run}`;
    await duckWrite(
      `CREATE TABLE account_tiers (group_id VARCHAR, tier VARCHAR, seats INTEGER);
       INSERT INTO account_tiers VALUES ('${acme}', 'enterprise', 40), ('${beta}', 'startup', 3)`,
    );
    const audience = await gql(
      `mutation ($input: CreateAudienceInput!) { createAudience(input: $input) { ok errors { code } } }`,
      { input: { key: 'big_accounts', definition: "trait('seats') >= 10", level: 'ACCOUNTS' } },
    );
    expect(audience.data?.createAudience).toEqual({ ok: true, errors: [] });
    const accountTraits = async (groupId: string) => {
      const res = await fetch(
        `${service.url}/v1/spaces/${space}/collections/accounts/profiles/group_id:${groupId}/traits?class=sql_trait`,
        { headers: { authorization: `Basic ${Buffer.from(`${reader}:`).toString('base64')}` } },
      );
      return { status: res.status, traits: ((await res.json()) as { traits?: unknown }).traits };
    };
    expect((await accountTraits(acme)).status).toBe(404);

    await create({
      key: 'account_tier',
      level: 'ACCOUNTS',
      query: 'SELECT group_id, tier, seats FROM account_tiers',
    });
    expect(await runTrait('account_tier')).toMatchObject({
      status: 'SUCCEEDED',
      rows: 2,
      changed: 2,
      removed: 0,
      refused: 0,
    });
    expect(await accountTraits(acme)).toEqual({ status: 200, traits: { tier: 'enterprise', seats: 40 } });
    expect(await accountTraits(beta)).toEqual({ status: 200, traits: { tier: 'startup', seats: 3 } });
    // The account audience reads the account's traits: Acme is in, Beta is not.
    const size = await poll(
      async () => (await gql('{ audience(key: "big_accounts") { status size } }')).data?.audience,
      (a) => {
        const got = a as { status: string; size: number } | undefined;
        return got?.status === 'LIVE' && got.size === 1;
      },
    );
    expect(size).toEqual({ status: 'LIVE', size: 1 });

    // Acme leaves the warehouse: the next run removes its traits, and it leaves the audience.
    await duckWrite(`DELETE FROM account_tiers WHERE group_id = '${acme}'`);
    expect(await runTrait('account_tier')).toMatchObject({ changed: 0, removed: 1 });
    expect(await accountTraits(acme)).toEqual({ status: 200, traits: {} });
    const after = await poll(
      async () => (await gql('{ audience(key: "big_accounts") { size } }')).data?.audience,
      (a) => (a as { size: number } | undefined)?.size === 0,
    );
    expect(after).toEqual({ size: 0 });

    // Beta is deleted by group_id: what the trait last sent for it goes too, and the next run, finding
    // Beta still in the warehouse, writes it anew (as for a deleted person).
    const values = async () =>
      (
        await service.services.events.db.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM sql_trait_values WHERE space = $1 AND key = 'account_tier' AND id_value = $2",
          [space, beta],
        )
      ).rows[0]?.n;
    expect(await values()).toBe(1);
    const asked = await service.services.privacy.request(space, 'DELETE_ONLY', {
      type: 'group_id',
      value: beta,
    });
    expect(asked.ok).toBe(true);
    await service.services.privacy.idle();
    expect(await values()).toBe(0);
    expect(await runTrait('account_tier')).toMatchObject({ changed: 1, removed: 0 });
    expect(await accountTraits(beta)).toEqual({ status: 200, traits: { tier: 'startup', seats: 3 } });
  });
});

describe("Segment's contract", () => {
  const columns = (n: number) =>
    [`'${u(1)}' AS user_id`, ...Array.from({ length: n - 1 }, (_, i) => `${i} AS t${i}`)].join(', ');

  it('refuses 26 columns and takes 25', async () => {
    expect(await createAndRun('cols_26', `SELECT ${columns(26)}`)).toMatchObject({
      status: 'FAILED',
      errorCode: 'TOO_MANY_COLUMNS',
      changed: 0,
    });
    expect(await createAndRun('cols_25', `SELECT ${columns(25)}`)).toMatchObject({
      status: 'SUCCEEDED',
      changed: 1,
    });
  });

  it('refuses a null id, a duplicate id, a missing id column and a non-scalar column', async () => {
    const cases: [string, string, string][] = [
      ['null_id', "SELECT * FROM (VALUES ('a', 1), (NULL, 2)) t(user_id, n)", 'NULL_ID'],
      ['dup_id', "SELECT * FROM (VALUES ('a', 1), ('a', 2)) t(user_id, n)", 'DUPLICATE_ID'],
      ['no_id', 'SELECT 1 AS n', 'NO_ID_COLUMN'],
      ['list_col', "SELECT 'a' AS user_id, [1, 2] AS tags", 'UNSUPPORTED_COLUMN_TYPE'],
      ['struct_col', "SELECT 'a' AS user_id, {'x': 1} AS s", 'UNSUPPORTED_COLUMN_TYPE'],
    ];
    const before = await sentIdentifies();
    for (const [key, query, code] of cases)
      expect(await createAndRun(key, query), key).toMatchObject({
        status: 'FAILED',
        errorCode: code,
        error: expect.any(String),
        changed: 0,
      });
    expect(await sentIdentifies()).toBe(before);
    const trait = await gql('{ sqlTrait(key: "null_id") { status } }');
    expect(trait.data?.sqlTrait).toEqual({ status: 'FAILED' });
  });

  it('refuses a record of 16 KB alone and sends the others', async () => {
    const query = `SELECT '${u(1)}' AS user_id, repeat('x', 16400) AS blob
                   UNION ALL SELECT '${u(2)}', 'small'`;
    expect(await createAndRun('big_record', query)).toMatchObject({
      status: 'SUCCEEDED',
      rows: 2,
      changed: 1,
      refused: 1,
    });
    expect((await traits(`user_id:${u(2)}`, 'sql_trait')).body.traits).toMatchObject({ blob: 'small' });
  });
});

describe('the sandbox', () => {
  it("refuses a bad query with the database's message", async () => {
    const duckRun = await createAndRun('typo_duck', 'SELEC user_id FROM scores');
    expect(duckRun).toMatchObject({ status: 'FAILED', errorCode: 'QUERY_FAILED' });
    expect(duckRun.error).toContain('syntax error');
    const pgRun = await createAndRun('typo_pg', 'SELECT user_id FROM no_such_table', pgId);
    expect(pgRun).toMatchObject({
      status: 'FAILED',
      errorCode: 'QUERY_FAILED',
      error: 'relation "no_such_table" does not exist',
    });
  });

  it('refuses writes on both kinds of target', async () => {
    for (const [key, query, target] of [
      ['insert_duck', `INSERT INTO scores VALUES ('x', 1, 'y')`, duckId],
      ['drop_duck', 'DROP TABLE scores', duckId],
      ['insert_pg', "INSERT INTO identifies (id) VALUES ('x')", pgId],
      ['drop_pg', 'DROP TABLE identifies', pgId],
    ] as const)
      expect(await createAndRun(key, query, target), key).toMatchObject({
        status: 'FAILED',
        errorCode: 'WRITE_REFUSED',
      });
    expect(await duckWrite('SELECT count(*)::INTEGER AS n FROM scores')).toEqual([{ n: 2 }]);
    const { rows } = await pgTarget.pool.query<{ t: string | null }>(
      "SELECT to_regclass('identifies')::text AS t",
    );
    expect(rows[0]?.t).toBe('identifies');
  });

  it('keeps DuckDB away from files and the network', async () => {
    expect(await createAndRun('read_file', "SELECT * FROM read_csv('/etc/passwd')")).toMatchObject({
      status: 'FAILED',
      errorCode: 'QUERY_FAILED',
      error: expect.stringContaining('disabled by configuration'),
    });
    expect(await createAndRun('attach', `ATTACH '${duck.path}.other' AS other`)).toMatchObject({
      status: 'FAILED',
      errorCode: 'WRITE_REFUSED',
    });
  });

  it('cancels a query at the statement timeout', async () => {
    expect(
      await createAndRun('slow_duck', 'SELECT count(*)::VARCHAR AS user_id FROM range(100000000000)'),
    ).toMatchObject({ status: 'FAILED', errorCode: 'QUERY_TIMEOUT' });
    expect(await createAndRun('slow_pg', "SELECT 'a' AS user_id FROM pg_sleep(5)", pgId)).toMatchObject({
      status: 'FAILED',
      errorCode: 'QUERY_TIMEOUT',
    });
  });

  it('refuses more rows than the cap, and takes the cap', async () => {
    expect(await createAndRun('too_many', "SELECT 'cap-' || range AS user_id FROM range(51)")).toMatchObject({
      status: 'FAILED',
      errorCode: 'TOO_MANY_ROWS',
      changed: 0,
    });
    expect(
      await createAndRun(
        'too_many_pg',
        "SELECT 'cap-' || g AS user_id FROM generate_series(1, 1000000) g",
        pgId,
      ),
    ).toMatchObject({ status: 'FAILED', errorCode: 'TOO_MANY_ROWS' });
    expect(
      await createAndRun(
        'at_cap',
        `SELECT 'sqlt-${run}-cap-' || range AS user_id, range AS n FROM range(50)`,
      ),
    ).toMatchObject({ status: 'SUCCEEDED', rows: 50, changed: 50 });
  });

  it("reads the PostgreSQL target's synced tables", async () => {
    expect(
      await createAndRun(
        'pg_plan',
        "SELECT user_id, 'seen' AS seen FROM identifies WHERE user_id IS NOT NULL",
        pgId,
      ),
    ).toMatchObject({ status: 'SUCCEEDED' });
  });

  it("refuses a target whose connection can read the event store's tables", async () => {
    // A schema of the event store's own database, as a sync target: adding it is allowed (it is empty),
    // but its queries could read the event store, so its SQL traits do not run.
    const db = service.services.events.db;
    const schema = `sqlt_${run.replace(/-/g, '')}`;
    await db.pool.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
    const { rows } = await db.pool.query<{ db: string }>('SELECT current_database() AS db');
    const url = new URL(pgTarget.url);
    url.pathname = `/${rows[0]?.db ?? ''}`;
    url.searchParams.set('options', `-c search_path=${schema}`);
    const added = await service.services.sync.addTarget(space, {
      kind: 'postgres',
      location: url.toString(),
    });
    if (!added.ok) throw new Error(JSON.stringify(added));
    try {
      expect(await createAndRun('shared_db', "SELECT 'a' AS user_id", added.target.id)).toMatchObject({
        status: 'FAILED',
        errorCode: 'TARGET_NOT_ISOLATED',
      });
    } finally {
      await service.services.sync.removeTarget(added.target.id);
      await db.pool.query(`DROP SCHEMA ${pg.escapeIdentifier(schema)} CASCADE`);
    }
  });
});

describe('the schedule', () => {
  it('runs a due slot once, however many processes look at it', async () => {
    await create({
      key: 'scheduled',
      query: `SELECT user_id, score AS sched FROM scores`,
      schedule: '0 * * * *',
    });
    const db = service.services.events.db;
    await db.pool.query(
      "UPDATE sql_traits SET next_run_at = now() - interval '1 minute' WHERE space = $1 AND key = 'scheduled'",
      [space],
    );
    // Two passes at once stand for two processes.
    await Promise.all([service.services.sqlTraits.runDue(), service.services.sqlTraits.runDue()]);
    const res = await gql(
      '{ sqlTrait(key: "scheduled") { status nextRunAt runs(first: 10) { run trigger status } } }',
    );
    const trait = res.data?.sqlTrait as { status: string; nextRunAt: string; runs: unknown[] };
    expect(trait.runs).toEqual([{ run: 1, trigger: 'SCHEDULE', status: 'SUCCEEDED' }]);
    expect(trait.status).toBe('LIVE');
    expect(Date.parse(trait.nextRunAt)).toBeGreaterThan(Date.now());
    expect(new Date(trait.nextRunAt).getUTCMinutes()).toBe(0);
  });
});

describe('audiences', () => {
  it('take a SQL trait in their conditions', async () => {
    const res = await gql(
      `mutation ($input: CreateAudienceInput!) { createAudience(input: $input) { ok errors { code message } } }`,
      { input: { key: 'high_score', definition: "trait('score') >= 20" } },
    );
    expect(res.data?.createAudience, JSON.stringify(res)).toEqual({ ok: true, errors: [] });
    const members = () =>
      gql(
        `{ audience(key: "high_score") { status members(first: 10) { nodes { profile { identifiers { type value } } } } } }`,
      );
    type Answer = {
      status: string;
      members: { nodes: { profile: { identifiers: { type: string; value: string }[] } }[] };
    };
    const userIds = (a: Answer | undefined) =>
      (a?.members.nodes ?? []).flatMap((n) =>
        n.profile.identifiers.filter((i) => i.type === 'user_id').map((i) => i.value),
      );
    const answer = await poll(
      async () => (await members()).data?.audience as Answer | undefined,
      (a) => a?.status === 'LIVE' && userIds(a).includes(u(2)),
    );
    expect(userIds(answer).sort()).toEqual([u(2)]);
    // A run that lowers the score takes the profile out.
    await duckWrite(`UPDATE scores SET score = 1 WHERE user_id = '${u(2)}'`);
    expect(await runTrait('score')).toMatchObject({ status: 'SUCCEEDED', changed: 1 });
    const after = await poll(
      async () => (await members()).data?.audience as Answer | undefined,
      (a) => a !== undefined && !userIds(a).includes(u(2)),
    );
    expect(userIds(after)).toEqual([]);
  });
});

describe('deleteSqlTrait', () => {
  it('stops the trait, keeps its values on the profiles and its key taken', async () => {
    const res = await gql('mutation { deleteSqlTrait(key: "by_email") { deleted errors { code } } }');
    expect(res.data?.deleteSqlTrait).toEqual({ deleted: true, errors: [] });
    const again = await gql('mutation { deleteSqlTrait(key: "by_email") { deleted errors { code path } } }');
    expect(again.data?.deleteSqlTrait).toEqual({
      deleted: false,
      errors: [{ code: 'NOT_FOUND', path: ['key'] }],
    });
    expect((await gql('{ sqlTrait(key: "by_email") { key } }')).data?.sqlTrait).toBeNull();
    const reused = await gql(CREATE, { input: { key: 'by_email', targetId: duckId, query: 'SELECT 1' } });
    expect(reused.data?.createSqlTrait).toMatchObject({ errors: [{ code: 'KEY_TAKEN' }] });
    expect((await traits(`email:sqlt-${run}@example.com`)).body.traits).toMatchObject({ visits: 3 });
  });
});
