// Issue 11 §3: a database outage must look like an outage. The test runs a Neo4j of its own (never the
// run's shared one: its own home under .neo4j/test/, free ports), puts the service under load from
// tracking-API and GraphQL clients that send again on 503 as Segment's libraries do, stops that Neo4j,
// checks what every route answers meanwhile, starts it again on the same ports, and checks that the
// service recovers by itself and that every acknowledged event is stored exactly once
// (docs/adr/0017-outages-and-browser-credentials.md). Timings are printed; the only timed assertions are
// generous bounds that prove nothing hangs for a minute (test/support/outage-load.ts).
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { freePort } from '../support/ports.ts';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { startLocalNeo4j, type LocalNeo4j } from '../../tools/neo4j/launcher.ts';
import {
  basic,
  expectOutageHandled,
  expectUnavailable,
  graphql,
  request,
  runOutage,
  seconds,
  sleep,
  startTarget,
  TRACK,
  type Load,
  type Target,
} from '../support/outage-load.ts';
import { openTestDatabase, storedCounts } from '../support/postgres.ts';

/** The bound under test (NEO4J_UNAVAILABLE_TIMEOUT_MS); not the default, to show it is configuration. */
const BOUND_MS = 3_000;
const HOME = join('.neo4j', 'test', `outage-${process.pid}-${randomUUID().slice(0, 6)}`);
const SPACE = `outage-${randomUUID().slice(0, 8)}`;

let neo: LocalNeo4j | undefined;
let service: Service | undefined;
let load: Load | undefined;
let ports = { bolt: 0, http: 0 };
const target: Target = { url: '', writeKey: '', token: '' };

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
  service = await startTarget(
    {
      NEO4J_URI: neo.uri,
      NEO4J_USER: neo.user,
      NEO4J_PASSWORD: neo.password,
      NEO4J_UNAVAILABLE_TIMEOUT_MS: String(BOUND_MS),
      DATABASE_URL: inject('postgres').url,
    },
    SPACE,
    target,
  );
});

afterAll(async () => {
  await load?.abort();
  await service?.stop();
  await neo?.stop();
  await rm(HOME, { recursive: true, force: true });
});

/** messageId → how many rows the event store holds for it in the space. */
async function storedEvents(): Promise<Map<string, number>> {
  const db = await openTestDatabase();
  try {
    return await storedCounts(db, SPACE);
  } finally {
    await db.close();
  }
}

describe('a Neo4j outage', () => {
  it(
    'is answered 503 with Retry-After within the bound, and recovers with every acknowledged event stored once',
    { timeout: 300_000 },
    async () => {
      const retryAfter = String(BOUND_MS / 1000);
      expect((await request(target, '/readyz')).status).toBe(200);
      const outage = await runOutage({
        target,
        database: 'Neo4j',
        stop: async () => neo?.stop(),
        start: async () => {
          neo = await startNeo4j();
        },
        // While it is away: GraphQL reads and writes, the Profile API.
        whileDown: async () => {
          const graphqlRead = await graphql(
            target,
            `
              {
                profile(by: { type: "user_id", value: "u-1" }) {
                  id
                }
              }
            `,
          );
          const graphqlWrite = await graphql(target, TRACK, {
            input: { userId: 'u-graphql-probe', event: 'Probe', messageId: 'probe-1' },
          });
          const profileApi = await request(
            target,
            `/v1/spaces/${SPACE}/collections/users/profiles/user_id:u-1/traits`,
            { headers: { authorization: basic(target.token) } },
          );
          // Long enough for the write key's cached authentication to expire, so that it is refused too.
          await sleep(Math.max(BOUND_MS, 5_000) + 1_000);
          return { graphqlRead, graphqlWrite, profileApi };
        },
        stored: storedEvents,
        started: (started) => {
          load = started;
        },
      });
      const { graphqlRead, graphqlWrite, profileApi } = outage.probes;
      const figures = {
        bound: seconds(BOUND_MS),
        ...outage.figures,
        graphql: [graphqlRead.ms, graphqlWrite.ms].map((ms) => `${ms} ms`).join(', '),
        profileApi: `${profileApi.ms} ms`,
      };
      process.stdout.write(`[outage] ${JSON.stringify(figures, null, 2)}\n`);

      expectOutageHandled(outage, retryAfter, {
        status: 'unavailable',
        neo4j: 'unreachable',
        postgres: 'reachable',
        migrations: 'applied',
      });
      // GraphQL: a coded SERVICE_UNAVAILABLE with HTTP 503, for a read and for ingestion; the Profile API too.
      for (const answer of [graphqlRead, graphqlWrite, profileApi]) expectUnavailable(answer, retryAfter);
    },
  );
});
