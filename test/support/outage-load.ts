// What the outage tests share (docs/adr/0017-outages-and-browser-credentials.md): clients that put the
// service under load and send again on 503 as Segment's libraries do, a /readyz probe, and one run of an
// outage — warm up, stop the database under load, ask what the test wants while it is away, start it
// again, wait for the service to recover by itself — with its figures and the checks every outage must
// pass. test/integration/outage.test.ts runs it for Neo4j, postgres-outage.test.ts for PostgreSQL.
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type Service } from '../../src/service.ts';

/** Nothing may take this long; a request held by the driver's retry loop took up to 64 s before. */
export const HANG_MS = 10_000;

/** Where the load goes: filled in by the test's beforeAll. */
export interface Target {
  url: string;
  writeKey: string;
  token: string;
}

/**
 * Starts the service as `npm start` does, on the databases `env` names, and fills `target` with its URL
 * and a write key and an access token of a new space. `log` receives its warnings and errors.
 */
export async function startTarget(
  env: NodeJS.ProcessEnv,
  space: string,
  target: Target,
  log: (line: string) => void = () => {},
): Promise<Service> {
  // A free port: a running `npm start` holds the default one.
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', METRICS_PORT: '0', ...env });
  const service = await startService(config, createLogger('warn', log));
  await service.services.spaces.createSpace(space);
  target.url = service.url;
  target.writeKey = (await service.services.spaces.createKey(space, 'write')).secret;
  target.token = (await service.services.spaces.createKey(space, 'token', { scopes: ['write'] })).secret;
  return service;
}

export interface Answer {
  status: number;
  ms: number;
  at: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

export async function request(target: Target, path: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${target.url}${path}`, init);
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

export const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

export function track(target: Target, body: unknown): Promise<Answer> {
  return request(target, '/v1/batch', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(target.writeKey) },
    body: JSON.stringify(body),
  });
}

export function graphql(
  target: Target,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Answer> {
  return request(target, '/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
    body: JSON.stringify({ query, variables }),
  });
}

export const TRACK = `mutation ($input: TrackInput!) { track(input: $input) { ok messageId duplicate } }`;

/** The load's clients: four over the tracking API, one over GraphQL, each with a userId of its own. */
export const LOAD_USERS = ['u-0', 'u-1', 'u-2', 'u-3', 'u-graphql'];

/** What the load saw: every answer, and the messageIds acknowledged with a 200. */
export interface Load {
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

/** The code of a refusal, in the tracking API's shape or GraphQL's. */
function codeOf(a: Answer): unknown {
  const rest = (a.body.error as { code?: unknown } | undefined)?.code;
  const gql = (a.body.errors as { extensions?: { code?: unknown } }[] | undefined)?.[0]?.extensions?.code;
  return rest ?? gql;
}

/**
 * Clients that each send one request at a time and, on a 503, send the same events again a moment later
 * (a client ignores Retry-After here only to keep the test short): four tracking-API clients sending
 * batches of five, one sending single tracks through GraphQL.
 */
export function startLoad(target: Target): Load {
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
  const outageAnswer = (a: Answer) =>
    a.status === 503 && codeOf(a) === 'SERVICE_UNAVAILABLE' && a.retryAfter !== null;

  /** Sends until acknowledged; `ok` says whether a 200 acknowledges. */
  const send = async (ids: string[], attempt: () => Promise<Answer>, ok: (a: Answer) => boolean) => {
    load.sent.push(...ids);
    while (!aborted) {
      const a = await attempt().catch(failed);
      load.answers.push(a);
      if (a.status === 200 && ok(a)) {
        load.acked.push(...ids);
        return;
      }
      if (!outageAnswer(a)) load.unexpected.push(a);
      await sleep(200);
    }
  };
  const http = async (client: number) => {
    for (let n = 0; running; n++) {
      const ids = Array.from({ length: 5 }, (_, i) => `c${client}-${n}-${i}`);
      const body = {
        batch: ids.map((messageId) => ({ type: 'track', userId: `u-${client}`, event: 'Load', messageId })),
      };
      await send(
        ids,
        () => track(target, body),
        () => true,
      );
    }
  };
  const overGraphql = async () => {
    for (let n = 0; running; n++) {
      const messageId = `g-${n}`;
      await send(
        [messageId],
        () => graphql(target, TRACK, { input: { userId: 'u-graphql', event: 'Load', messageId } }),
        (a) => (a.body.data as { track?: { ok: boolean } } | null | undefined)?.track?.ok === true,
      );
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
  return load;
}

/** A request that got no answer at all (a dropped connection): always unexpected. */
export const failed = (error: unknown): Answer => ({
  status: 0,
  ms: 0,
  at: Date.now(),
  retryAfter: null,
  body: { error: String(error) },
});

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Asks /readyz every 250 ms until stopped; every answer is kept. */
function probeReadiness(target: Target): { answers: Answer[]; stop(): Promise<void> } {
  const answers: Answer[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      answers.push(await request(target, '/readyz').catch(failed));
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

export const range = (answers: Answer[]) => {
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
  if (ms.length === 0) return 'none';
  return `${ms[0]}/${ms[Math.floor(ms.length / 2)]}/${ms[ms.length - 1]} ms min/median/max over ${ms.length}`;
};

export interface OutagePlan<Probes> {
  target: Target;
  /** The database's name in the printed figures. */
  database: string;
  /** Stops the database (it keeps its data) and starts it again on the same ports. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** What the test asks while the database is away; returns when it is time to start it again. */
  whileDown(): Promise<Probes>;
  /** messageId → how many rows the event store holds for it in the test's space. */
  stored(): Promise<Map<string, number>>;
  /** Called with the load as it starts, so that afterAll can abort it after a failure. */
  started(load: Load): void;
}

/** What happened during one outage, for the checks and the printed figures. */
export interface Outage<Probes> {
  load: Load;
  probes: Probes;
  stored: Map<string, number>;
  /** Answers sent from the stop until readiness came back, held at most until then. */
  held: Answer[];
  refused: Answer[];
  /** /readyz answers from its first non-200 until readiness came back. */
  down: Answer[];
  readyAt: number;
  firstIngest: Answer | undefined;
  lost: string[];
  duplicated: number;
  neverAcked: string[];
  figures: Record<string, unknown>;
}

/**
 * Warms up under load, stops the database, asks the test's probes, starts the database again (the
 * service is never told), waits until /readyz and an ingestion succeed again, then stops the load and
 * reads what was stored.
 */
export async function runOutage<Probes>(plan: OutagePlan<Probes>): Promise<Outage<Probes>> {
  const load = startLoad(plan.target);
  plan.started(load);
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
  const readiness = probeReadiness(plan.target);
  await plan.stop();
  const stoppedAt = Date.now();
  const probes = await plan.whileDown();

  // Start it again on the same ports. A server accepts connections a while before it answers them:
  // requests must not hang on those either.
  const restartAt = Date.now();
  await plan.start();
  const upAt = Date.now();
  const firstDown = () => readiness.answers.findIndex((a) => a.status !== 200);
  const readyAgain = () => readiness.answers.slice(Math.max(0, firstDown())).find((a) => a.status === 200);
  while (readyAgain() === undefined && Date.now() - upAt < 60_000) await sleep(50);
  await readiness.stop();
  const readyAt = readyAgain()?.at ?? Number.POSITIVE_INFINITY;
  const acked = () => load.answers.filter((a) => a.at >= upAt && a.status === 200);
  while (acked().length === 0 && Date.now() - upAt < 60_000) await sleep(50);
  const firstIngest = acked()[0];
  await sleep(1_500);
  await load.stop();
  const stored = await plan.stored();

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
    firstAckOnAColdDatabase: seconds(warmUp),
    [`${plan.database}StopTook`]: seconds(stoppedAt - stopAt),
    [`${plan.database}RestartTook`]: seconds(upAt - restartAt),
    first503AfterStopBegan: refused[0] === undefined ? null : seconds(refused[0].at - stopAt),
    requestsSentDuringOutage: `${outage.length}, of which answered 503: ${refused.length}`,
    answerTimesOf503s: range(refused),
    [`answerTimesOf503sWhile${plan.database}Starts`]: range(refused.filter((a) => a.at - a.ms >= restartAt)),
    heldByTheOutage: range(held),
    readyzWhileDown: range(down),
    [`readyAfter${plan.database}Up`]: seconds(readyAt - upAt),
    [`firstIngestAfter${plan.database}Up`]: firstIngest === undefined ? null : seconds(firstIngest.at - upAt),
    answerTimesAfterReady: range(load.answers.filter((a) => a.at - a.ms >= readyAt)),
    sent: load.sent.length,
    acknowledged: load.acked.length,
    lost: lost.length,
    duplicated,
  };
  return {
    load,
    probes,
    stored,
    held,
    refused,
    down,
    readyAt,
    firstIngest,
    lost,
    duplicated,
    neverAcked,
    figures,
  };
}

/** A coded SERVICE_UNAVAILABLE with HTTP 503 and Retry-After, in GraphQL's shape or the REST routes'. */
export function expectUnavailable(answer: Answer, retryAfter: string): void {
  const code = { code: 'SERVICE_UNAVAILABLE' };
  expect(answer).toMatchObject({
    status: 503,
    retryAfter,
    body:
      'errors' in answer.body
        ? { errors: [{ extensions: code }] }
        : { error: { ...code, message: expect.any(String) } },
  });
  expect(answer.ms).toBeLessThan(HANG_MS);
}

/**
 * What every outage must show: nothing but 200s and coded 503s with Retry-After (no 500, no dropped
 * connection, no hang), /readyz saying so at once with `readiness` as its body, recovery without a
 * restart of the service, and every acknowledged event stored exactly once.
 */
export function expectOutageHandled(
  outage: Outage<unknown>,
  retryAfter: string,
  readiness: Record<string, string>,
): void {
  const { load, refused, held, down, stored } = outage;
  expect(load.unexpected).toEqual([]);
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.every((a) => a.retryAfter === retryAfter)).toBe(true);
  expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(HANG_MS);
  expect(Math.max(...held.map((a) => a.ms))).toBeLessThan(HANG_MS);
  // Readiness says so, and at once, until the database answers again.
  expect(down.length).toBeGreaterThan(0);
  expect(down.every((a) => a.status === 503 && a.retryAfter === retryAfter)).toBe(true);
  expect(down[0]?.body).toEqual(readiness);
  expect(Math.max(...down.map((a) => a.ms))).toBeLessThan(HANG_MS);
  expect(outage.readyAt).toBeLessThan(Number.POSITIVE_INFINITY);
  expect(outage.firstIngest).toBeDefined();
  expect(outage.lost).toEqual([]);
  expect(outage.duplicated).toBe(0);
  expect(outage.neverAcked).toEqual([]);
  expect([...stored.keys()].filter((id) => !id.startsWith('probe')).sort()).toEqual([...load.acked].sort());
}
