// W10: Profiles Sync and SQL traits (issue 15; docs/adr/0024-profiles-sync.md, 0025-sql-traits.md). Two
// targets of the main space, a DuckDB file in the run's folder and a database of the run's PostgreSQL:
// 1. each added alone and synced from the start of the space's change log (the seeded history, whose
//    entries the seeder writes as the API's commits would, and what the warm-up and the workloads before
//    it sent through the API): a full sync of the run's history, timed from `sync add` until its lag is 0:
//    rows/s;
// 2. then W1's load for the ingest window with both attached, their lag (changes behind, age of the oldest)
//    sampled every second, and the time to catch up once the load stops;
// 3. then a SQL trait over the PostgreSQL target (events per user), run on demand twice: the first sends
//    every user, the second what changed since (nothing).
// The API syncs every second (SYNC_INTERVAL_MS, bench/api-process.ts), so lag is the sync's, not the wait.
// Raw baseline for (1): the same rows' worth of plain multi-row INSERTs into an unlogged table of the same
// target database, in the same batch sizes, without reading the change log or resolving anything.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { ApiClient } from '../client.ts';
import { percentile, round } from '../measure.ts';
import type { RunContext } from '../settings.ts';
import { SEED } from '../settings.ts';
import { IngestStream, w1ApiPhase } from './ingest.ts';

const TARGETS = `{ syncTargets { id kind rowsWritten lagChanges lagSeconds lastSyncedAt lastError } }`;
const CREATE_TRAIT = `mutation ($input: CreateSqlTraitInput!) {
  createSqlTrait(input: $input) { sqlTrait { key } errors { code message } }
}`;
const RUN_TRAIT = `mutation ($key: String!) {
  runSqlTrait(key: $key) { run { run status rows changed removed refused errorCode error } errors { code message } }
}`;
/** Tracks per user_id as sent, over the synced tracks table: one row per user with tracks. */
const TRAIT_QUERY = `SELECT user_id, count(*) AS w10_tracks FROM tracks WHERE user_id IS NOT NULL GROUP BY user_id`;
/** The initial sync's deadline per target. */
const INITIAL_TIMEOUT_MS = 60 * 60_000;

interface TargetState {
  id: string;
  kind: string;
  rowsWritten: number;
  lagChanges: number;
  lagSeconds: number;
  lastSyncedAt: string | null;
  lastError: string | null;
}

/** The targets' state, `kind` in lower case as the API process names it (GraphQL gives the enum). */
async function targets(admin: ApiClient): Promise<TargetState[]> {
  return (await admin.graphql<{ syncTargets: TargetState[] }>(TARGETS, {})).syncTargets.map((t) => ({
    ...t,
    kind: t.kind.toLowerCase(),
  }));
}

/** A fresh database on the run's PostgreSQL server, for the PostgreSQL target; its URL. */
async function targetDatabase(ctx: RunContext): Promise<string> {
  const name = 'bench_w10_target';
  await ctx.stack.postgres.pool.query(`DROP DATABASE IF EXISTS ${name}`);
  await ctx.stack.postgres.pool.query(`CREATE DATABASE ${name}`);
  const url = new URL(ctx.stack.postgres.url);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Polls until the target has synced and nothing is behind; seconds from `since`. */
async function caughtUp(
  admin: ApiClient,
  id: string,
  since: number,
  timeoutMs: number,
): Promise<TargetState> {
  for (;;) {
    const t = (await targets(admin)).find((x) => x.id === id);
    if (t !== undefined && t.lastSyncedAt !== null && t.lagChanges === 0) return t;
    if (performance.now() - since > timeoutMs)
      throw new Error(`W10: target ${id} did not catch up: ${JSON.stringify(t)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The raw baseline: `rows` rows of a track's width inserted 200 at a time into an unlogged table. */
async function rawInserts(url: string, rows: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      'CREATE UNLOGGED TABLE IF NOT EXISTS w10_raw (id text PRIMARY KEY, segment_id text, event text, properties jsonb, context jsonb, ts timestamptz)',
    );
    const t0 = performance.now();
    for (let start = 0; start < rows; start += 200) {
      const n = Math.min(200, rows - start);
      const params: unknown[] = [];
      const tuples: string[] = [];
      for (let i = 0; i < n; i++) {
        const k = params.length;
        tuples.push(`($${k + 1}, $${k + 2}, $${k + 3}, $${k + 4}::jsonb, $${k + 5}::jsonb, now())`);
        params.push(
          `raw-${start + i}`,
          `p-${(start + i) % 1000}`,
          'Order Completed',
          '{"total":1}',
          '{"ip":"1.2.3.4"}',
        );
      }
      await client.query(`INSERT INTO w10_raw VALUES ${tuples.join(', ')}`, params);
    }
    return rows / ((performance.now() - t0) / 1000);
  } finally {
    await client.query('DROP TABLE IF EXISTS w10_raw').catch(() => undefined);
    await client.end();
  }
}

export async function runW10(ctx: RunContext) {
  const admin = new ApiClient(
    ctx.stack.api.url,
    { writeKey: ctx.main.writeKey, token: ctx.main.adminToken },
    2,
  );
  try {
    const { rows } = await ctx.stack.postgres.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM changes WHERE space = $1',
      [ctx.main.space],
    );
    const logRows = rows[0]?.n ?? 0;
    const dir = join(ctx.stack.home, 'w10');
    await mkdir(dir, { recursive: true });
    const locations = { duckdb: join(dir, 'warehouse.duckdb'), postgres: await targetDatabase(ctx) };

    // 1. Each target alone, from the start of the change log.
    const initial: Record<string, { seconds: number; rows: number; rowsPerSec: number }> = {};
    const ids: Record<string, string> = {};
    for (const kind of ['postgres', 'duckdb'] as const) {
      ctx.log(`W10: a ${kind} target, synced from the start of a ${logRows}-row change log`);
      const t0 = performance.now();
      ids[kind] = await ctx.stack.api.addSyncTarget(ctx.main.space, kind, locations[kind]);
      const done = await caughtUp(admin, ids[kind], t0, INITIAL_TIMEOUT_MS);
      const seconds = (performance.now() - t0) / 1000;
      initial[kind] = {
        seconds: round(seconds),
        rows: done.rowsWritten,
        rowsPerSec: round(done.rowsWritten / seconds),
      };
    }
    const raw = await rawInserts(locations.postgres, Math.max(1_000, initial.postgres?.rows ?? 0));

    // 2. Lag under W1's load, both targets attached.
    const samples: Record<string, { changes: number[]; seconds: number[] }> = {
      postgres: { changes: [], seconds: [] },
      duckdb: { changes: [], seconds: [] },
    };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const t of await targets(admin)) {
          const into = samples[t.kind];
          into?.changes.push(t.lagChanges);
          into?.seconds.push(t.lagSeconds);
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
    const before = Object.fromEntries((await targets(admin)).map((t) => [t.kind, t.rowsWritten]));
    const tLoad = performance.now();
    const load = await w1ApiPhase(
      ctx,
      'W10 (W1 with two sync targets)',
      new IngestStream(ctx, 'w10', SEED + 100),
    );
    const phaseSeconds = (performance.now() - tLoad) / 1000;
    sampling = false;
    await sampler;
    const t1 = performance.now();
    const after: Record<string, TargetState> = {};
    for (const kind of ['postgres', 'duckdb'] as const)
      after[kind] = await caughtUp(admin, ids[kind] as string, t1, INITIAL_TIMEOUT_MS);
    const drainSeconds = (performance.now() - t1) / 1000;
    const loadSeconds = load.result.windowMs / 1000;
    const underLoad = Object.fromEntries(
      (['postgres', 'duckdb'] as const).map((kind) => {
        const s = samples[kind] ?? { changes: [], seconds: [] };
        return [
          kind,
          {
            // Rows the phase brought (warm-up included), over the phase and the catching up after it.
            rowsPerSec: round(
              ((after[kind]?.rowsWritten ?? 0) - (before[kind] ?? 0)) / (phaseSeconds + drainSeconds),
            ),
            lagSecondsP50: round(percentile(s.seconds, 50)),
            lagSecondsP95: round(percentile(s.seconds, 95)),
            lagSecondsMax: round(Math.max(0, ...s.seconds)),
            lagChangesMax: Math.max(0, ...s.changes),
            samples: s.seconds.length,
          },
        ];
      }),
    );

    // 3. A SQL trait over the PostgreSQL target, run twice.
    ctx.log('W10: a SQL trait over the PostgreSQL target (tracks per user), run twice');
    const created = await admin.graphql<{ createSqlTrait: { errors: { code: string; message: string }[] } }>(
      CREATE_TRAIT,
      { input: { key: 'w10_tracks', targetId: ids.postgres, query: TRAIT_QUERY } },
    );
    if (created.createSqlTrait.errors.length > 0)
      throw new Error(`createSqlTrait: ${JSON.stringify(created.createSqlTrait.errors)}`);
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const answer = await admin.graphql<{
        runSqlTrait: {
          run: {
            run: number;
            status: string;
            rows: number;
            changed: number;
            errorCode: string | null;
            error: string | null;
          } | null;
          errors: { code: string; message: string }[];
        };
      }>(RUN_TRAIT, { key: 'w10_tracks' });
      const run = answer.runSqlTrait.run;
      if (run === null || run.status !== 'SUCCEEDED')
        throw new Error(`runSqlTrait: ${JSON.stringify(answer.runSqlTrait)}`);
      runs.push({ seconds: round((performance.now() - t0) / 1000), rows: run.rows, changed: run.changed });
    }
    return {
      changeLogRows: logRows,
      initialPostgresRowsPerSec: initial.postgres?.rowsPerSec ?? 0,
      initialDuckDbRowsPerSec: initial.duckdb?.rowsPerSec ?? 0,
      rawInsertRowsPerSec: round(raw),
      lagUnderLoadP95SecondsPostgres: underLoad.postgres?.lagSecondsP95 ?? 0,
      lagUnderLoadP95SecondsDuckDb: underLoad.duckdb?.lagSecondsP95 ?? 0,
      sqlTraitFirstRunSeconds: runs[0]?.seconds ?? 0,
      sqlTraitRows: runs[0]?.rows ?? 0,
      initial,
      underLoad: {
        ...underLoad,
        eventsPerSec: round(load.result.units / loadSeconds),
        drainSeconds: round(drainSeconds),
      },
      sqlTrait: { query: TRAIT_QUERY, runs },
      syncIntervalMs: 1_000,
    };
  } finally {
    admin.close();
  }
}
