// Issue 12 §7: a PostgreSQL outage gets the same treatment as a Neo4j one (outage.test.ts): 503 with
// Retry-After, /readyz, recovery by itself, nothing lost. The test runs a PostgreSQL of its own (never
// the run's: its own folder under .postgres/test/, a free port), puts the service under load from
// tracking-API and GraphQL clients that send again on 503, stops that PostgreSQL, checks what ingestion
// and event reads answer meanwhile, starts it again from the same folder on the same port, and checks
// that the service recovers by itself, that every acknowledged event is stored exactly once, that no
// batch stays pending (resends and the housekeeping recovery finish them) and that every acknowledged
// event is found through its profile (docs/adr/0018-event-store.md). Timings are printed; the only
// timed assertions are generous bounds that prove nothing hangs (test/support/outage-load.ts). A second
// test drops one transaction's connection on purpose: a failed attempt, run again, never a crash.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../src/postgres/database.ts';
import type { Service } from '../../src/service.ts';
import { startLocalPostgres, type LocalPostgres } from '../../tools/postgres/launcher.ts';
import {
  basic,
  expectOutageHandled,
  expectUnavailable,
  graphql,
  LOAD_USERS,
  request,
  runOutage,
  seconds,
  sleep,
  startTarget,
  TRACK,
  type Load,
  type Target,
} from '../support/outage-load.ts';
import { freePort } from '../support/ports.ts';
import { openDatabaseAt, storedCounts } from '../support/postgres.ts';

/** The bound under test (DATABASE_UNAVAILABLE_TIMEOUT_MS); not the default, to show it is configuration. */
const BOUND_MS = 3_000;
/** Housekeeping runs every 10 s and finishes batches pending for 10 s: two rounds and some. */
const PENDING_MS = 30_000;
const DIR = join('.postgres', 'test', `outage-${process.pid}-${randomUUID().slice(0, 6)}`);
const SPACE = `pg-outage-${randomUUID().slice(0, 8)}`;

let postgres: LocalPostgres | undefined;
let service: Service | undefined;
let db: Database | undefined;
let load: Load | undefined;
let port = 0;
let url = '';
const target: Target = { url: '', writeKey: '', token: '' };
/** The service's warnings and errors. */
const logged: Logged[] = [];

interface Logged {
  level: string;
  msg: string;
  batches?: number;
}

function startPostgres(): Promise<LocalPostgres> {
  return startLocalPostgres({
    dir: DIR,
    port,
    persistent: true,
    log: (msg) => process.stderr.write(`[postgres outage] ${msg}\n`),
  });
}

const EVENTS = `
  query ($user: String!, $after: String) {
    profile(by: { type: "user_id", value: $user }) {
      id
      events(first: 100, after: $after, order: OLDEST_FIRST) {
        nodes {
          messageId
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

interface EventsPage {
  profile: {
    id: string;
    events: { nodes: { messageId: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  } | null;
}

/** The messageIds of every event found through the user's profile (null when it has none). */
async function profileEvents(user: string): Promise<string[] | null> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const answer = await graphql(target, EVENTS, { user, after });
    expect(answer.status).toBe(200);
    const profile = (answer.body.data as EventsPage).profile;
    if (profile === null) return null;
    ids.push(...profile.events.nodes.map((n) => n.messageId));
    if (!profile.events.pageInfo.hasNextPage) return ids;
    after = profile.events.pageInfo.endCursor;
  }
}

async function pendingBatches(): Promise<number> {
  const { rows } = await (db as Database).pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pending_batches',
  );
  return rows[0]?.n ?? 0;
}

describe('a PostgreSQL outage', () => {
  beforeAll(async () => {
    port = await freePort();
    postgres = await startPostgres();
    const server = new pg.Client({ connectionString: postgres.url });
    await server.connect();
    try {
      await server.query('CREATE DATABASE stitchgraph');
    } finally {
      await server.end();
    }
    const database = new URL(postgres.url);
    database.pathname = '/stitchgraph';
    url = database.toString();
    const neo4j = inject('neo4j');
    service = await startTarget(
      {
        NEO4J_URI: neo4j.uri,
        NEO4J_USER: neo4j.user,
        NEO4J_PASSWORD: neo4j.password,
        NEO4J_DATABASE: neo4j.database,
        DATABASE_URL: url,
        DATABASE_UNAVAILABLE_TIMEOUT_MS: String(BOUND_MS),
      },
      SPACE,
      target,
      (line) => logged.push(JSON.parse(line) as Logged),
    );
    db = await openDatabaseAt(url);
  });

  afterAll(async () => {
    await load?.abort();
    await service?.stop();
    await db?.close();
    await postgres?.stop();
    await rm(DIR, { recursive: true, force: true });
  });

  it(
    'is answered 503 with Retry-After within the bound, and recovers with every acknowledged event stored once',
    { timeout: 300_000 },
    async () => {
      const retryAfter = String(BOUND_MS / 1000);
      expect((await request(target, '/readyz')).status).toBe(200);
      // Batches the outage left half written (stored, not finished), as PostgreSQL comes back.
      let pendingWhenBack = 0;
      const outage = await runOutage({
        target,
        database: 'PostgreSQL',
        stop: async () => postgres?.stop(),
        start: async () => {
          postgres = await startPostgres();
          pendingWhenBack = await pendingBatches();
        },
        // While it is away: ingestion over GraphQL and the tracking API, event reads over GraphQL and the
        // Profile API (the profile itself is in Neo4j, which stays up).
        whileDown: async () => {
          const graphqlWrite = await graphql(target, TRACK, {
            input: { userId: 'u-graphql-probe', event: 'Probe', messageId: 'probe-1' },
          });
          const trackingApi = await request(target, '/v1/track', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: basic(target.writeKey) },
            body: JSON.stringify({ userId: 'u-probe', event: 'Probe', messageId: 'probe-2' }),
          });
          const graphqlEvents = await graphql(target, EVENTS, { user: 'u-1', after: null });
          const profileApiEvents = await request(
            target,
            `/v1/spaces/${SPACE}/collections/users/profiles/user_id:u-1/events`,
            { headers: { authorization: basic(target.token) } },
          );
          await sleep(BOUND_MS + 1_000);
          return { graphqlWrite, trackingApi, graphqlEvents, profileApiEvents };
        },
        stored: () => storedCounts(db as Database, SPACE),
        started: (started) => {
          load = started;
        },
      });

      // Batches left pending by writers refused mid-way: finished by resends and by housekeeping.
      const pendingAfterLoad = await pendingBatches();
      const drainStarted = Date.now();
      let pending = pendingAfterLoad;
      while (pending > 0 && Date.now() - drainStarted < PENDING_MS) {
        await sleep(250);
        pending = await pendingBatches();
      }
      const drained = Date.now() - drainStarted;
      const storedAfterDrain = await storedCounts(db as Database, SPACE);
      const found = new Map<string, string[] | null>();
      for (const user of LOAD_USERS) found.set(user, await profileEvents(user));
      const throughProfiles = [...found.values()].flatMap((ids) => ids ?? []);

      const probes = outage.probes;
      const errors = logged.filter((l) => l.level === 'error');
      const figures = {
        bound: seconds(BOUND_MS),
        ...outage.figures,
        probes: Object.entries(probes)
          .map(([name, a]) => `${name} ${a.status} in ${a.ms} ms`)
          .join(', '),
        pendingWhenPostgreSQLCameBack: pendingWhenBack,
        pendingAfterLoad,
        pendingDrainedIn: pending === 0 ? seconds(drained) : `not within ${seconds(PENDING_MS)}`,
        foundThroughProfiles: throughProfiles.length,
        housekeeping: {
          failed: logged.filter((l) => l.msg.startsWith('housekeeping failed')).length,
          finishedBatches: logged
            .filter((l) => l.msg.startsWith('finished batches'))
            .reduce((n, l) => n + (l.batches ?? 0), 0),
        },
        errorsLogged: errors.length,
      };
      console.log(`[postgres outage] ${JSON.stringify(figures, null, 2)}`);

      expectOutageHandled(outage, retryAfter, {
        status: 'unavailable',
        neo4j: 'reachable',
        postgres: 'unreachable',
        migrations: 'applied',
      });
      for (const answer of Object.values(probes)) expectUnavailable(answer, retryAfter);
      // An outage is no error of ours: nothing was logged as unexpected.
      expect(errors).toEqual([]);
      // No batch stays pending; finishing them stored nothing twice and removed nothing.
      expect(pending).toBe(0);
      expect(storedAfterDrain).toEqual(outage.stored);
      // The graph side: every acknowledged event's profile exists and finds the event, once.
      for (const [user, ids] of found) expect({ user, found: ids !== null }).toEqual({ user, found: true });
      expect([...throughProfiles].sort()).toEqual([...outage.load.acked].sort());
    },
  );
});

describe('a connection dropped between the statements of a transaction', () => {
  it('fails that attempt only: the transaction runs again on a new connection, the process stays up', async () => {
    // Tagged, so that only this test's connections are ended on the run's shared database.
    const app = `dropped-${randomUUID().slice(0, 8)}`;
    const tagged = new URL(inject('postgres').url);
    tagged.searchParams.set('application_name', app);
    const dropping = await openDatabaseAt(tagged.toString());
    const admin = await openDatabaseAt(inject('postgres').url);
    try {
      let attempts = 0;
      const rows = await dropping.transaction(async (tx) => {
        attempts += 1;
        await tx.run('events/list-pending-batch-ids');
        if (attempts === 1) {
          // As a fast shutdown does (57P01), while the transaction's connection runs no statement.
          await admin.pool.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
            [app],
          );
          while (
            (await admin.pool.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [app]))
              .rowCount !== 0
          ) {
            await sleep(20);
          }
          await sleep(100);
        }
        return tx.run('events/list-pending-batch-ids');
      });
      expect(attempts).toBe(2);
      expect(Array.isArray(rows)).toBe(true);
    } finally {
      await dropping.close();
      await admin.close();
    }
  });
});
