// Prometheus metrics through the real service (docs/adr/0016-metrics.md): the metrics port and what it
// binds to, and the counters moving as requests, events and GraphQL operations go through the main port.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { startTestService } from '../support/service.ts';

const run = randomUUID().slice(0, 8);
const space = `met-${run}`;
let service: Service;
/** METRICS_HOST=0.0.0.0: the contrast that shows the loopback check can fail. */
let open: Service;
/** METRICS_PORT=off. */
let off: Service;
let writeKey = '';
let token = '';

beforeAll(async () => {
  [service, open, off] = await Promise.all([
    startTestService(),
    startTestService({ METRICS_HOST: '0.0.0.0' }),
    startTestService({ METRICS_PORT: 'off' }),
  ]);
  await service.services.spaces.createSpace(space);
  writeKey = (await service.services.spaces.createKey(space, 'write')).secret;
  token = (await service.services.spaces.createKey(space, 'token', { scopes: ['write'] })).secret;
});
afterAll(async () => {
  await Promise.all([service?.stop(), open?.stop(), off?.stop()]);
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format, enough of it for these tests: one sample per line, comments skipped. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = value as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(target: Service = service): Promise<Sample[]> {
  const res = await fetch(target.metricsUrl as string);
  expect(res.status).toBe(200);
  return parse(await res.text());
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there is none). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** How much each query moved between two scrapes. */
async function delta<T>(queries: Record<string, (s: Sample[]) => number>, act: () => Promise<T>) {
  const before = await scrape();
  const result = await act();
  // A request is counted once its answer is sent; the client may read it a moment before that.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await scrape();
  const moved: Record<string, number> = {};
  for (const [name, query] of Object.entries(queries)) moved[name] = query(after) - query(before);
  return { moved, result };
}

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

async function postBatch(batch: unknown) {
  const res = await fetch(`${service.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(writeKey) },
    body: JSON.stringify({ batch }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: unknown[] } };
}

/** Resolves true when a TCP connection to host:port is accepted, false when it is refused. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve(false);
      else reject(error);
    });
  });
}

const events = (outcome: string, code?: string) => (s: Sample[]) =>
  value(s, 'stitchgraph_ingest_events_total', { outcome, ...(code === undefined ? {} : { code }) });
const requests = (method: string, route: string, status: string) => (s: Sample[]) =>
  value(s, 'stitchgraph_http_requests_total', { method, route, status });

describe('the metrics port', () => {
  it('serves Prometheus text at /metrics on its own port, not on the main port', async () => {
    const metricsPort = Number(new URL(service.metricsUrl as string).port);
    expect(metricsPort).toBeGreaterThan(0);
    expect(metricsPort).not.toBe(Number(new URL(service.url).port));

    const res = await fetch(service.metricsUrl as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE stitchgraph_http_requests_total counter');
    expect(text).toContain('# TYPE stitchgraph_http_request_duration_seconds histogram');
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');

    const main = await fetch(`${service.url}/metrics`);
    expect(main.status).toBe(404);
    expect(await main.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for /metrics' } });

    const elsewhere = await fetch(new URL('/other', service.metricsUrl as string));
    expect(elsewhere.status).toBe(404);
    const post = await fetch(service.metricsUrl as string, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('binds to 127.0.0.1 by default, and to every interface only when told', async () => {
    expect(service.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    // Linux routes all of 127.0.0.0/8 to loopback: a socket bound to 127.0.0.1 refuses 127.0.0.2,
    // one bound to 0.0.0.0 accepts it.
    const port = Number(new URL(service.metricsUrl as string).port);
    expect(await accepts('127.0.0.1', port)).toBe(true);
    expect(await accepts('127.0.0.2', port)).toBe(false);
    const openPort = Number(new URL(open.metricsUrl as string).port);
    expect(await accepts('127.0.0.2', openPort)).toBe(true);
  });

  it('serves nothing with METRICS_PORT=off, and the API still answers', async () => {
    expect(off.metricsUrl).toBeUndefined();
    expect((await fetch(`${off.url}/healthz`)).status).toBe(200);
  });

  it('keeps each service’s counts in its own registry', async () => {
    const openHealthz = async () =>
      value(await scrape(open), 'stitchgraph_http_requests_total', { route: '/healthz' });
    const before = await openHealthz();
    const { moved } = await delta({ here: requests('GET', '/healthz', '200') }, () =>
      fetch(`${service.url}/healthz`),
    );
    expect(moved.here).toBe(1);
    expect(await openHealthz()).toBe(before);
  });
});

describe('ingestion', () => {
  it('counts events applied, duplicated and refused by code, through /v1/batch', async () => {
    const user = `m-${run}`;
    const valid = [
      { type: 'identify', userId: user, messageId: `${user}-1`, traits: { plan: 'pro' } },
      { type: 'track', userId: user, messageId: `${user}-2`, event: 'Viewed' },
    ];
    const { moved, result } = await delta(
      {
        applied: events('applied'),
        duplicate: events('duplicate'),
        validation: events('refused', 'VALIDATION_FAILED'),
        noIds: events('refused', 'NO_IDENTIFIERS'),
        batchRefused: (s) =>
          value(s, 'stitchgraph_ingest_batches_refused_total', { code: 'VALIDATION_FAILED' }),
        txEvents: (s) => value(s, 'stitchgraph_ingest_transaction_events_sum'),
        txCount: (s) => value(s, 'stitchgraph_ingest_transaction_events_count'),
      },
      async () => [
        await postBatch(valid),
        await postBatch(valid),
        await postBatch([
          { type: 'track', userId: user, messageId: `${user}-3`, event: 'Kept' },
          { type: 'group', userId: user, messageId: `${user}-4` },
          { type: 'login', userId: user },
          { type: 'identify', userId: 'anonymous', messageId: `${user}-5` },
        ]),
        await postBatch('not a list'),
      ],
    );
    expect(result.map((r) => r.status)).toEqual([200, 200, 400, 400]);
    expect(result[1]?.body).toMatchObject({ applied: 0, duplicates: 2 });
    expect(result[2]?.body).toMatchObject({ applied: 1, refused: 3 });
    expect(moved).toEqual({
      applied: 3,
      duplicate: 2,
      validation: 2,
      noIds: 1,
      batchRefused: 1,
      // Only events that passed validation reach a transaction: 2 + 2 + 2 (the blocked one is judged there).
      txEvents: 6,
      txCount: 3,
    });
  });

  it('counts events sent over GraphQL too', async () => {
    const { moved } = await delta({ applied: events('applied') }, () =>
      gql('mutation ($input: IdentifyInput!) { identify(input: $input) { ok } }', {
        input: { userId: `gql-${run}`, traits: { plan: 'free' } },
      }),
    );
    expect(moved.applied).toBe(1);
  });

  it('shows group commit idle after the requests: nothing queued, no transaction running', async () => {
    const samples = await scrape();
    for (const name of [
      'stitchgraph_ingest_queue_requests',
      'stitchgraph_ingest_queue_events',
      'stitchgraph_ingest_transactions_running',
    ]) {
      expect(samples.filter((s) => s.name === name)).toEqual([{ name, labels: {}, value: 0 }]);
    }
  });

  it('reports Neo4j as up and the graph’s own deadlock count', async () => {
    const samples = await scrape();
    expect(value(samples, 'stitchgraph_neo4j_up')).toBe(1);
    expect(samples.some((s) => s.name === 'stitchgraph_neo4j_deadlock_retries_total')).toBe(true);
    expect(value(samples, 'stitchgraph_neo4j_deadlock_retries_total')).toBe(service.deadlocks());
  });

  it('reports statements and their time per store and named query, as the service counted them', async () => {
    const samples = await scrape();
    const times = service.queryTimes();
    for (const store of ['neo4j', 'postgres'] as const) {
      const counted = samples.filter(
        (s) => s.name === 'stitchgraph_db_statements_total' && s.labels.store === store,
      );
      // Ingestion ran through both stores: find-owners or write-batch in the graph, store-events in SQL.
      expect(counted.length).toBeGreaterThan(0);
      for (const sample of counted) {
        const query = sample.labels.query ?? '';
        expect(sample.value).toBeGreaterThanOrEqual(1);
        // The service keeps counting between the scrape and now, never less.
        expect(times[store][query]?.count ?? 0).toBeGreaterThanOrEqual(sample.value);
        const seconds = samples.find(
          (s) =>
            s.name === 'stitchgraph_db_statement_seconds_total' &&
            s.labels.store === store &&
            s.labels.query === query,
        );
        expect(seconds?.value).toBeGreaterThan(0);
      }
    }
    expect(
      samples.some((s) => s.labels.store === 'postgres' && s.labels.query === 'events/store-events'),
    ).toBe(true);
  });
});

describe('HTTP requests', () => {
  it('counts and times requests by method, route pattern and status, never by raw path', async () => {
    const { moved } = await delta(
      {
        healthz: requests('GET', '/healthz', '200'),
        batchOk: requests('POST', '/v1/batch', '200'),
        unauthenticated: requests('POST', '/v1/t', '401'),
        settings: requests('GET', '/v1/projects/:writeKey/settings', '200'),
        profile: requests('GET', '/v1/spaces/:space/collections/users/profiles/:id/traits', '401'),
        unmatched: requests('GET', 'unmatched', '404'),
        timed: (s) =>
          value(s, 'stitchgraph_http_request_duration_seconds_count', { route: '/v1/batch', status: '200' }),
        fast: (s) =>
          value(s, 'stitchgraph_http_request_duration_seconds_bucket', {
            route: '/healthz',
            status: '200',
            le: '+Inf',
          }),
      },
      async () => {
        await fetch(`${service.url}/healthz`);
        await fetch(`${service.url}/healthz`);
        await postBatch([{ type: 'track', userId: `h-${run}`, messageId: `h-${run}`, event: 'E' }]);
        await fetch(`${service.url}/v1/t`, { method: 'POST', body: '{}' });
        await fetch(`${service.url}/v1/projects/${writeKey}/settings`);
        await fetch(
          `${service.url}/v1/spaces/${space}/collections/users/profiles/user_id:secret-${run}/traits`,
        );
        await fetch(`${service.url}/nope/${run}`);
      },
    );
    expect(moved).toEqual({
      healthz: 2,
      batchOk: 1,
      unauthenticated: 1,
      settings: 1,
      profile: 1,
      unmatched: 1,
      timed: 1,
      fast: 2,
    });
    const text = await (await fetch(service.metricsUrl as string)).text();
    for (const secret of [writeKey, `secret-${run}`, `/nope/${run}`, space])
      expect(text).not.toContain(secret);
  });
});

describe('GraphQL', () => {
  it('counts operations refused before they run by their code, and not those that ran', async () => {
    let deep = 'groupId';
    for (let i = 0; i < 6; i++) deep = `members(first: 1) { nodes { accounts { ${deep} } } }`;
    const refused = (code: string) => (s: Sample[]) =>
      value(s, 'stitchgraph_graphql_refused_operations_total', { code });
    const { moved, result } = await delta(
      {
        deep: refused('QUERY_TOO_DEEP'),
        parse: refused('GRAPHQL_PARSE_FAILED'),
        all: (s) => value(s, 'stitchgraph_graphql_refused_operations_total'),
        status400: requests('POST', '/graphql', '400'),
        status200: requests('POST', '/graphql', '200'),
      },
      async () => [
        await gql(`{ account(groupId: "x") { ${deep} } }`),
        await gql('{ account(groupId: '),
        await gql('{ account(groupId: "nobody") { groupId } }'),
      ],
    );
    expect(result.map((r) => r.status)).toEqual([400, 400, 200]);
    expect(result[0]?.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_DEEP' }) }),
    ]);
    expect(moved).toEqual({ deep: 1, parse: 1, all: 2, status400: 2, status200: 1 });
  });
});
