// Issue 11 §3: a database outage must look like an outage. The test runs a Neo4j of its own (never the
// run's shared one: its own home under .neo4j/test/, free ports), puts the service under load from
// tracking-API and GraphQL clients that send again on 503 as Segment's libraries do, stops that Neo4j,
// checks what every route answers meanwhile, starts it again on the same ports, and checks that the
// service recovers by itself and that every acknowledged event is stored exactly once
// (docs/adr/0017-outages-and-browser-credentials.md). Timings are printed; the only timed assertions are
// generous bounds that prove nothing hangs for a minute.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { freePort } from '../support/ports.ts';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type Service } from '../../src/service.ts';
import { startLocalNeo4j, type LocalNeo4j } from '../../tools/neo4j/launcher.ts';
import { openTestDatabase, storedCounts } from '../support/postgres.ts';

/** The bound under test (NEO4J_UNAVAILABLE_TIMEOUT_MS); not the default, to show it is configuration. */
const BOUND_MS = 3_000;
/** Nothing may take this long; a request held by the driver's retry loop took up to 64 s before. */
const HANG_MS = 10_000;
const HOME = join('.neo4j', 'test', `outage-${process.pid}-${randomUUID().slice(0, 6)}`);
const SPACE = `outage-${randomUUID().slice(0, 8)}`;

let neo: LocalNeo4j | undefined;
let service: Service | undefined;
let ports = { bolt: 0, http: 0 };
const keys = { write: '', token: '' };

function startNeo4j(): Promise<LocalNeo4j> {
  return startLocalNeo4j({
    home: HOME,
    boltPort: ports.bolt,
    httpPort: ports.http,
    heap: '512m',
    pageCache: '64m',
    log: (msg) => process.stderr.write(`[neo4j outage] ${msg}\n`),
  });
}

beforeAll(async () => {
  ports = { bolt: await freePort(), http: await freePort() };
  neo = await startNeo4j();
  service = await startService(
    loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      NEO4J_URI: neo.uri,
      NEO4J_USER: neo.user,
      NEO4J_PASSWORD: neo.password,
      NEO4J_UNAVAILABLE_TIMEOUT_MS: String(BOUND_MS),
      DATABASE_URL: inject('postgres').url,
      // A free port: a running `npm start` holds the default one.
      METRICS_PORT: '0',
    }),
    createLogger('error', () => {}),
  );
  await service.services.spaces.createSpace(SPACE);
  keys.write = (await service.services.spaces.createKey(SPACE, 'write')).secret;
  keys.token = (await service.services.spaces.createKey(SPACE, 'token', { scopes: ['write'] })).secret;
});

afterAll(async () => {
  await activeLoad?.abort();
  await service?.stop();
  await neo?.stop();
  await rm(HOME, { recursive: true, force: true });
});

interface Answer {
  status: number;
  ms: number;
  at: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

async function request(path: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${service?.url}${path}`, init);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  const at = Date.now();
  return { status: res.status, ms: at - started, at, retryAfter: res.headers.get('retry-after'), body };
}

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

function track(body: unknown): Promise<Answer> {
  return request('/v1/batch', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(keys.write) },
    body: JSON.stringify(body),
  });
}

function graphql(query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  return request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.token}` },
    body: JSON.stringify({ query, variables }),
  });
}

const TRACK = `mutation ($input: TrackInput!) { track(input: $input) { ok messageId duplicate } }`;

/** What the load saw: every answer, and the messageIds acknowledged with a 200. */
interface Load {
  answers: Answer[];
  acked: string[];
  sent: string[];
  /** Answers that are neither 200 nor a 503 SERVICE_UNAVAILABLE with Retry-After. */
  unexpected: Answer[];
  /** Sends nothing new, and resolves once every event sent so far is acknowledged. */
  stop(): Promise<void>;
  /** Gives up at once (after a failure). */
  abort(): Promise<void>;
}

let activeLoad: Load | undefined;

/**
 * Clients that each send one request at a time and, on a 503, send the same events again a moment later
 * (a client ignores Retry-After here only to keep the test short): four tracking-API clients sending
 * batches of five, one sending single tracks through GraphQL.
 */
function startLoad(): Load {
  const load: Load = {
    answers: [],
    acked: [],
    sent: [],
    unexpected: [],
    stop: async () => {},
    abort: async () => {},
  };
  let running = true;
  let aborted = false;
  const outageAnswer = (a: Answer, code: unknown) => a.status === 503 && code === 'SERVICE_UNAVAILABLE';

  const http = async (client: number) => {
    for (let n = 0; running; n++) {
      const ids = Array.from({ length: 5 }, (_, i) => `c${client}-${n}-${i}`);
      load.sent.push(...ids);
      const body = {
        batch: ids.map((messageId) => ({ type: 'track', userId: `u-${client}`, event: 'Load', messageId })),
      };
      while (!aborted) {
        const a = await track(body).catch(failed);
        load.answers.push(a);
        if (a.status === 200) {
          load.acked.push(...ids);
          break;
        }
        const code = (a.body.error as { code?: unknown } | undefined)?.code;
        if (!outageAnswer(a, code) || a.retryAfter === null) load.unexpected.push(a);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const overGraphql = async () => {
    for (let n = 0; running; n++) {
      const messageId = `g-${n}`;
      load.sent.push(messageId);
      while (!aborted) {
        const a = await graphql(TRACK, { input: { userId: 'u-graphql', event: 'Load', messageId } }).catch(
          failed,
        );
        load.answers.push(a);
        const data = a.body.data as { track?: { ok: boolean } } | null | undefined;
        if (a.status === 200 && data?.track?.ok === true) {
          load.acked.push(messageId);
          break;
        }
        const code = (a.body.errors as { extensions?: { code?: unknown } }[] | undefined)?.[0]?.extensions
          ?.code;
        if (!outageAnswer(a, code) || a.retryAfter === null) load.unexpected.push(a);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const clients = [0, 1, 2, 3].map(http).concat(overGraphql());
  load.stop = async () => {
    running = false;
    await Promise.all(clients);
  };
  load.abort = async () => {
    aborted = true;
    await load.stop();
  };
  activeLoad = load;
  return load;
}

/** A request that got no answer at all (a dropped connection): always unexpected. */
const failed = (error: unknown): Answer => ({
  status: 0,
  ms: 0,
  at: Date.now(),
  retryAfter: null,
  body: { error: String(error) },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** messageId → how many rows the event store holds for it in the space. */
async function storedEvents(): Promise<Map<string, number>> {
  const db = await openTestDatabase();
  try {
    return await storedCounts(db, SPACE);
  } finally {
    await db.close();
  }
}

/** Asks /readyz every 250 ms until stopped; every answer is kept. */
function probeReadiness(): { answers: Answer[]; stop(): Promise<void> } {
  const answers: Answer[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      answers.push(await request('/readyz').catch(failed));
      await sleep(250);
    }
  })();
  return {
    answers,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

const range = (answers: Answer[]) => {
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
  if (ms.length === 0) return 'none';
  return `${ms[0]}/${ms[Math.floor(ms.length / 2)]}/${ms[ms.length - 1]} ms min/median/max over ${ms.length}`;
};

describe('a Neo4j outage', () => {
  it(
    'is answered 503 with Retry-After within the bound, and recovers with every acknowledged event stored once',
    { timeout: 300_000 },
    async () => {
      const retryAfter = String(BOUND_MS / 1000);
      expect((await request('/readyz')).status).toBe(200);
      const load = startLoad();
      // A cold database takes a while over its first transactions.
      const warm = Date.now();
      while (load.acked.length < 50 && load.unexpected.length === 0 && Date.now() - warm < 60_000) {
        await sleep(100);
      }
      expect(load.unexpected).toEqual([]);
      expect(load.acked.length).toBeGreaterThanOrEqual(50);
      const warmUp = (load.answers.find((a) => a.status === 200)?.at ?? warm) - warm;

      // Stop the database under load.
      const stopAt = Date.now();
      const readiness = probeReadiness();
      await neo?.stop();
      const stoppedAt = Date.now();

      // While it is away: GraphQL reads and writes, the Profile API.
      const graphqlRead = await graphql(`
        {
          profile(by: { type: "user_id", value: "u-1" }) {
            id
          }
        }
      `);
      const graphqlWrite = await graphql(TRACK, {
        input: { userId: 'u-graphql-probe', event: 'Probe', messageId: 'probe-1' },
      });
      const profileApi = await request(`/v1/spaces/${SPACE}/collections/users/profiles/user_id:u-1/traits`, {
        headers: { authorization: basic(keys.token) },
      });
      // Long enough for the write key's cached authentication to expire, so that it is refused too.
      await sleep(Math.max(BOUND_MS, 5_000) + 1_000);

      // Start it again on the same ports; the service is never told. Bolt accepts connections a while
      // before the database answers them: requests must not hang on those either.
      const restartAt = Date.now();
      neo = await startNeo4j();
      const upAt = Date.now();
      const firstDown = () => readiness.answers.findIndex((a) => a.status !== 200);
      const readyAgain = () =>
        readiness.answers.slice(Math.max(0, firstDown())).find((a) => a.status === 200);
      while (readyAgain() === undefined && Date.now() - upAt < 60_000) await sleep(50);
      await readiness.stop();
      const readyAt = readyAgain()?.at ?? Number.POSITIVE_INFINITY;
      const acked = () => load.answers.filter((a) => a.at >= upAt && a.status === 200);
      while (acked().length === 0 && Date.now() - upAt < 60_000) await sleep(50);
      const firstIngest = acked()[0];
      await sleep(1_500);
      await load.stop();
      const stored = await storedEvents();

      // Requests sent from the stop until readiness came back, and how long each was held before the
      // database answered again (after that, a request waits for a cold database like any other).
      const outage = load.answers.filter((a) => a.at - a.ms >= stopAt && a.at - a.ms < readyAt);
      const held = outage.map((a) => ({ ...a, ms: Math.min(a.at, readyAt) - (a.at - a.ms) }));
      const refused = load.answers.filter((a) => a.status === 503);
      const down = readiness.answers.slice(firstDown()).filter((a) => a.at < readyAt);
      const lost = load.acked.filter((id) => !stored.has(id));
      const duplicated = [...stored.values()].filter((n) => n > 1).length;
      const neverAcked = load.sent.filter((id) => !load.acked.includes(id));
      const figures = {
        bound: seconds(BOUND_MS),
        firstAckOnAColdDatabase: seconds(warmUp),
        neo4jStopTook: seconds(stoppedAt - stopAt),
        neo4jRestartTook: seconds(upAt - restartAt),
        first503AfterStopBegan: refused[0] === undefined ? null : seconds(refused[0].at - stopAt),
        requestsSentDuringOutage: `${outage.length}, of which answered 503: ${refused.length}`,
        answerTimesOf503s: range(refused),
        answerTimesOf503sWhileNeo4jStarts: range(refused.filter((a) => a.at - a.ms >= restartAt)),
        heldByTheOutage: range(held),
        readyzWhileDown: range(down),
        readyAfterNeo4jUp: seconds(readyAt - upAt),
        firstIngestAfterNeo4jUp: firstIngest === undefined ? null : seconds(firstIngest.at - upAt),
        answerTimesAfterReady: range(load.answers.filter((a) => a.at - a.ms >= readyAt)),
        graphql: [graphqlRead.ms, graphqlWrite.ms].map((ms) => `${ms} ms`).join(', '),
        profileApi: `${profileApi.ms} ms`,
        sent: load.sent.length,
        acknowledged: load.acked.length,
        lost: lost.length,
        duplicated,
      };
      process.stdout.write(`[outage] ${JSON.stringify(figures, null, 2)}\n`);

      // Nothing but 200s and coded 503s with Retry-After; no 500, no dropped connection, no hang.
      expect(load.unexpected).toEqual([]);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((a) => a.retryAfter === retryAfter)).toBe(true);
      expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(HANG_MS);
      expect(Math.max(...held.map((a) => a.ms))).toBeLessThan(HANG_MS);
      // Readiness says so, and at once, until the database answers again.
      expect(down.length).toBeGreaterThan(0);
      expect(down.every((a) => a.status === 503 && a.retryAfter === retryAfter)).toBe(true);
      expect(down[0]?.body).toEqual({
        status: 'unavailable',
        neo4j: 'unreachable',
        postgres: 'reachable',
        migrations: 'applied',
      });
      expect(Math.max(...down.map((a) => a.ms))).toBeLessThan(HANG_MS);
      // GraphQL: a coded SERVICE_UNAVAILABLE with HTTP 503, for a read and for ingestion.
      for (const answer of [graphqlRead, graphqlWrite]) {
        expect(answer).toMatchObject({
          status: 503,
          retryAfter,
          body: { errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] },
        });
        expect(answer.ms).toBeLessThan(HANG_MS);
      }
      // The Profile API too.
      expect(profileApi).toMatchObject({
        status: 503,
        retryAfter,
        body: { error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } },
      });
      // Recovery without a restart of the service; every acknowledged event stored exactly once.
      expect(readyAt).toBeLessThan(Number.POSITIVE_INFINITY);
      expect(firstIngest).toBeDefined();
      expect(lost).toEqual([]);
      expect(duplicated).toBe(0);
      expect(neverAcked).toEqual([]);
      expect([...stored.keys()].filter((id) => !id.startsWith('probe')).sort()).toEqual(
        [...load.acked].sort(),
      );
    },
  );
});
