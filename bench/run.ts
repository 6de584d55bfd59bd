// `npm run bench [-- --quick] [-- --only W1,W3]`: starts its own Neo4j, PostgreSQL and the API, seeds the
// identity graph and the event store, runs the workloads of issue #6 with their raw baselines (issue 12) and
// W7, computed traits (issue 13), and W8, audiences (issue 14), measures the stores' size, prints a table
// and writes bench/results/.
// Decisions: docs/adr/0011-benchmarks.md.
import { join } from 'node:path';
import { VARIABLES } from '../src/config.ts';
import { GraphEventsBaseline, TwoStoreBaseline } from './baseline.ts';
import { ApiClient } from './client.ts';
import { batchBody, Population } from './events.ts';
import { closedLoop, phaseCpu, round } from './measure.ts';
import { Random } from './random.ts';
import { gitState, machine, markdown, table, writeResults, type Results, type Workloads } from './report.ts';
import { Seeder } from './seed.ts';
import { BATCH_EVENTS, MODES, PROBE_USERS, SEED, type Mode, type RunContext } from './settings.ts';
import {
  eventStoreSize,
  folderMiB,
  graphStoreBytes,
  neo4jFacts,
  neo4jHeapUsedMiB,
  postgresSharedBuffers,
  postgresVersion,
  processPeakRssMiB,
  startStack,
  type Stack,
} from './stack.ts';
import { runW8 } from './workloads/audiences.ts';
import { runW7 } from './workloads/computed.ts';
import { runW9 } from './workloads/imports.ts';
import { runW10 } from './workloads/sync.ts';
import { runW4 } from './workloads/merges.ts';
import { calibrateW1, IngestStream, runW1, runW2, runW3 } from './workloads/ingest.ts';
import { lookupOp, runW5, runW6 } from './workloads/lookups.ts';

// W7 and W8 run last: they leave 20 computed traits (and W8 20 audiences) in the main space, which every
// later workload would pay for. W8 follows W7 and reuses its traits and its baseline when both run.
// W9, the CSV upload, runs after them in a space of its own; W2's events/s is shown beside its rows/s.
const ALL = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7', 'W8', 'W9', 'W10'] as const;
type Workload = (typeof ALL)[number];
/** A run that goes on past this is stopped (its Neo4j and API too). */
// W8's audiences, each computed over the whole space, raised them from 8 and 90 minutes; W9's 1,000,000
// CSV rows (each a new profile, about an hour at a few hundred rows/s) raised the full one from 150.
const DEADLINE_MS: Record<Mode, number> = { quick: 12 * 60_000, full: 210 * 60_000 };
const HISTORY_START = new Date(Date.UTC(2025, 5, 1));
const HISTORY_SPAN_MS = 180 * 24 * 60 * 60 * 1000;

/** A mistake on the command line: reported without a stack trace. */
class UsageError extends Error {}

function parseArgs(argv: string[]): { mode: Mode; only: Workload[] | null; markdown: boolean } {
  let mode: Mode = 'full';
  let only: Workload[] | null = null;
  let md = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--quick') mode = 'quick';
    else if (arg === '--full') mode = 'full';
    else if (arg === '--markdown') md = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? (argv[++i] ?? '') : arg.slice('--only='.length);
      const names = value.split(',').map((s) => s.trim().toUpperCase());
      const unknown = names.filter((n) => !(ALL as readonly string[]).includes(n));
      if (unknown.length > 0 || names.length === 0)
        throw new UsageError(`--only takes ${ALL.join(',')}; got "${value}"`);
      only = [...new Set([...(only ?? []), ...(names as Workload[])])];
    } else {
      throw new UsageError(`unknown argument "${arg}" (use --quick, --only W1[,W2...], --markdown)`);
    }
  }
  return { mode, only, markdown: md };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const settings = MODES[args.mode];
  const selected = new Set<Workload>(args.only ?? ALL);
  const started = performance.now();
  const git = gitState();
  const log = (msg: string) =>
    process.stderr.write(
      `[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`,
    );
  log(`mode ${args.mode}; workloads ${[...selected].join(', ')}`);

  // Set once the stack is up; a signal before that leaves cleanup to the launcher's exit hook.
  const running: { stack?: Stack } = {};
  let stopping: Promise<unknown> | undefined;
  const stop = () => (stopping ??= running.stack?.stop() ?? Promise.resolve());
  const abort = (why: string, code: number) => {
    log(`${why}: stopping the API, Neo4j and PostgreSQL`);
    void stop().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));
  const deadline = setTimeout(
    () => abort(`over ${DEADLINE_MS[args.mode] / 60_000} minutes`, 1),
    DEADLINE_MS[args.mode],
  );
  deadline.unref();

  const notes: string[] = [
    'The API runs in its own Node process (bench/api-process.ts, startService); the load generator and the raw baselines run in the parent process; all three share the machine with Neo4j and PostgreSQL.',
    'History is seeded with raw writes, not through the API: the identity graph with UNWIND (bench/cypher/seed/), the events as PostgreSQL rows through the service’s own sql/events/store-events and store-fast-effects.',
    'Request bodies and baseline parameters are built before each timed phase; the load generator only sends them.',
  ];
  const stack = await startStack({
    heap: settings.heap,
    pageCache: settings.pageCache,
    sharedBuffers: settings.sharedBuffers,
    log,
  });
  running.stack = stack;
  let heapPeak = 0;
  const sampler = setInterval(() => {
    void neo4jHeapUsedMiB(stack.driver).then((mib) => {
      if (mib !== null) heapPeak = Math.max(heapPeak, mib);
    });
  }, 1_000);
  let failure: unknown;
  let workloads: Workloads = {};
  let seed: Record<string, unknown> = {};
  let facts = { version: 'unknown', pageCache: null as string | null };
  let pgVersion = 'unknown';
  let pgSharedBuffers = 'unknown';
  let neo4jPeakRss: number | null = null;
  let storeMiB: number | null = null;
  const storage: NonNullable<Results['storage']> = {};
  try {
    facts = await neo4jFacts(stack.driver);
    pgVersion = await postgresVersion(stack.postgres.pool);
    pgSharedBuffers = await postgresSharedBuffers(stack.postgres.pool);
    const keys = await stack.api.createSpace('bench');
    const users = new Population('c', settings.profiles);
    const emptyGraph = await graphStoreBytes(stack.home);
    log(`seeding ${settings.profiles} profiles and ${settings.events} events of history (raw writes)`);
    const seeder = new Seeder(stack.driver, stack.bench, stack.postgres);
    const seeded = await seeder.seed({
      space: keys.space,
      pop: users,
      kind: 'user',
      from: 0,
      count: settings.profiles,
      events: { total: settings.events },
      start: HISTORY_START,
      spanMs: HISTORY_SPAN_MS,
      seed: SEED,
    });
    await seeder.finish(keys.space);
    seed = {
      ...seeded,
      seconds: round(seeded.ms / 1000),
      eventsPerSec: round((seeded.events * 1000) / seeded.ms),
      seed: SEED,
    };
    delete seed.ms;
    log(`seeded ${seeded.profiles} profiles, ${seeded.events} events in ${(seeded.ms / 1000).toFixed(1)} s`);
    // The stores as the history left them: the events in PostgreSQL, the identity graph in Neo4j.
    const history = await eventStoreSize(stack.postgres);
    log('restarting Neo4j and the API, so that the seeded graph is checkpointed into its store files');
    const seededGraph = await stack.graphStoreAtRest();
    storage.history = {
      events: history.events,
      postgresBytesPerEvent: round(history.bytesPerEvent),
      postgresMiB: round(history.bytes / 2 ** 20),
      postgresBytesPerEventByTable: roundAll(history.bytesPerEventByTable),
      profiles: seeded.profiles,
      // Less the files of the database before seeding (schema, spaces, keys).
      graphBytesPerProfile: round((seededGraph - emptyGraph) / seeded.profiles),
      graphStoreMiB: round(seededGraph / 2 ** 20),
      graphStoreBeforeSeedingMiB: round(emptyGraph / 2 ** 20),
    };

    const client = new ApiClient(stack.api.url, keys, 4 * settings.clients + 256);
    const ctx: RunContext = {
      mode: args.mode,
      settings,
      stack,
      main: keys,
      client,
      users,
      loadUsers: settings.profiles - PROBE_USERS,
      log,
    };
    const warm = await warmUp(ctx);
    seed.warmup = warm;
    workloads = await runWorkloads(ctx, selected);
    if (args.mode === 'quick' && workloads.W4 !== undefined) {
      notes.push(
        `Quick mode: W4's historyRatio compares ${settings.bigHistory}-event histories (not 100k) with 10-event ones.`,
      );
    }
    client.close();
    neo4jPeakRss = processPeakRssMiB(stack.neo4j.pid);
    storeMiB = await folderMiB(join(stack.home, 'data', 'databases', 'neo4j'));
    // Every event the run stored: the history, the workloads' own and the two-store baseline's rows.
    const end = await eventStoreSize(stack.postgres);
    storage.end = {
      events: end.events,
      postgresBytesPerEvent: round(end.bytesPerEvent),
      postgresMiB: round(end.bytes / 2 ** 20),
      postgresBytesPerEventByTable: roundAll(end.bytesPerEventByTable),
    };
  } catch (error) {
    failure = error;
  } finally {
    clearInterval(sampler);
  }
  const { apiPeakRssMiB, apiPeakRssSource } = (await stop()) as Awaited<ReturnType<Stack['stop']>>;
  clearTimeout(deadline);
  if (failure !== undefined) throw failure;

  const results: Results = {
    date: new Date().toISOString(),
    machine: machine(),
    neo4j: facts.version,
    postgres: pgVersion,
    node: process.versions.node,
    mode: args.mode,
    // Group commit's transactions per space in the API (INGEST_WRITERS, docs/adr/0012-group-commit.md).
    ingestWriters: Number(
      process.env.INGEST_WRITERS ?? VARIABLES.find((v) => v.name === 'INGEST_WRITERS')?.default,
    ),
    git,
    ...(args.only === null ? {} : { only: args.only }),
    seed,
    workloads,
    storage,
    process: {
      apiPeakRssMiB: round(apiPeakRssMiB),
      apiPeakRssSource,
      ...(heapPeak > 0 ? { neo4jHeapUsedMiB: round(heapPeak) } : {}),
      ...(facts.pageCache !== null ? { pageCacheMiB: mebibytes(facts.pageCache) } : {}),
      neo4jHeapMaxMiB: mebibytes(settings.heap),
      postgresSharedBuffers: pgSharedBuffers,
      ...(neo4jPeakRss === null ? {} : { neo4jPeakRssMiB: round(neo4jPeakRss) }),
      ...(storeMiB === null ? {} : { neo4jStoreMiB: round(storeMiB) }),
    },
    wallSeconds: round((performance.now() - started) / 1000),
    notes,
  };
  const files = await writeResults(results);
  process.stdout.write(`\n${table(results)}\n\n`);
  if (args.markdown) process.stdout.write(`${markdown(results)}\n\n`);
  process.stdout.write(`wall time ${results.wallSeconds} s; wrote ${files.join(', ')}\n`);
}

async function runWorkloads(ctx: RunContext, selected: Set<Workload>): Promise<Workloads> {
  let w1Rate: { eventsPerSec: number; basis: string } | undefined;
  const w1Basis = async () => {
    if (w1Rate === undefined) {
      ctx.log('calibrating the W1 rate (W1 is not selected)');
      w1Rate = { eventsPerSec: await calibrateW1(ctx), basis: 'a 5 s W1 calibration' };
    }
    return w1Rate;
  };
  const out: Workloads = {};
  for (const name of ALL) {
    if (!selected.has(name)) continue;
    const t0 = performance.now();
    const cpu0 = await ctx.stack.sample();
    let result: Record<string, unknown>;
    switch (name) {
      case 'W1':
        result = await runW1(ctx);
        w1Rate = { eventsPerSec: Number(result.eventsPerSec), basis: "W1's measured rate" };
        break;
      case 'W2':
        result = await runW2(ctx);
        break;
      case 'W3': {
        const basis = await w1Basis();
        result = await runW3(ctx, basis.eventsPerSec, basis.basis);
        break;
      }
      case 'W4':
        result = await runW4(ctx);
        break;
      case 'W5':
        result = await runW5(ctx);
        break;
      case 'W6': {
        const basis = await w1Basis();
        result = await runW6(ctx, basis.eventsPerSec, basis.basis);
        break;
      }
      case 'W7':
        // Run first (--only W7), it warms the stack with an unmeasured W1 phase before its baseline.
        result = await runW7(ctx, Object.keys(out).length === 0);
        break;
      case 'W8':
        // After W7, its 20 computed traits stay in the space: W8 reuses them and W7's baseline.
        result = await runW8(ctx, {
          warmUp: Object.keys(out).length === 0,
          ...(out.W7 === undefined
            ? {}
            : {
                w7: {
                  eventsPerSecWithout: Number(out.W7.eventsPerSecWithout),
                  eventsPerSecWith: Number(out.W7.eventsPerSecWith),
                },
              }),
        });
        break;
      case 'W10':
        result = await runW10(ctx);
        break;
      case 'W9':
        result = await runW9(
          ctx,
          out.W2 === undefined ? undefined : { eventsPerSec: Number(out.W2.eventsPerSec) },
        );
        break;
    }
    const cpu1 = await ctx.stack.sample();
    const wallMs = performance.now() - t0;
    out[name] = {
      ...result,
      seconds: round(wallMs / 1000),
      // The API's peak RSS while this workload ran, sampled in the API process.
      apiPeakRssMiB: round(cpu1.apiSample.windowPeakRssMiB),
      // Write transactions the API ran again after losing a deadlock (retried within milliseconds).
      deadlockRetries: cpu1.apiSample.deadlocks - cpu0.apiSample.deadlocks,
      // CPU use of each process over the workload (setup and baselines included), in % of one core.
      cpuPercentOfOneCore: phaseCpu(cpu0, cpu1, wallMs, 0).percentOfOneCore,
    };
    ctx.log(`${name} done: ${JSON.stringify(out[name])}`);
  }
  return out;
}

/**
 * Ingest batches and profile pages through the API, unmeasured, before any workload: a JVM that has just
 * started and a Cypher plan cache that is empty are not the steady state the workloads report.
 */
async function warmUp(ctx: RunContext) {
  const { warmupMs, clients } = ctx.settings;
  if (warmupMs === 0) return { seconds: 0 };
  ctx.log(
    `warm-up: ${warmupMs / 1000} s of ingestion and profile pages through the API, and both raw ingest baselines' writes (not measured)`,
  );
  const stream = new IngestStream(ctx, 'warm', SEED + 7);
  const rng = new Random(SEED + 8);
  const half = Math.max(1, Math.floor(clients / 2));
  const graphBaseline = new GraphEventsBaseline(ctx.stack.driver, ctx.stack.bench, ctx.main.space);
  await graphBaseline.prepare();
  const twoStoreBaseline = new TwoStoreBaseline(
    ctx.stack.driver,
    ctx.stack.bench,
    ctx.stack.postgres,
    ctx.main.space,
  );
  const graphStream = new IngestStream(ctx, 'warmb', SEED + 9);
  const twoStoreStream = new IngestStream(ctx, 'warmc', SEED + 12);
  // Unmeasured, so its requests are built as it goes.
  const [ingest, lookups, graphWrites, twoStoreWrites] = await Promise.all([
    closedLoop({
      clients: half,
      warmupMs: 0,
      durationMs: warmupMs,
      maxOps: 10_000_000,
      op: async () => {
        await ctx.client.postBatch(batchBody(stream.batch(BATCH_EVENTS)));
        return BATCH_EVENTS;
      },
    }),
    closedLoop({
      clients: half,
      warmupMs: 0,
      durationMs: warmupMs,
      maxOps: 10_000_000,
      op: lookupOp(ctx, rng),
    }),
    // The raw baselines' own statements (the lookup baseline runs the API's, warmed above).
    closedLoop({
      clients: 1,
      warmupMs: 0,
      durationMs: warmupMs,
      maxOps: 10_000_000,
      op: () => graphBaseline.write(graphBaseline.plan(graphStream.batch(BATCH_EVENTS))),
    }),
    closedLoop({
      clients: 1,
      warmupMs: 0,
      durationMs: warmupMs,
      maxOps: 10_000_000,
      op: () => twoStoreBaseline.write(twoStoreBaseline.plan(twoStoreStream.batch(BATCH_EVENTS))),
    }),
  ]);
  const errors = [ingest, lookups, graphWrites, twoStoreWrites];
  return {
    seconds: warmupMs / 1000,
    events: ingest.units,
    lookups: lookups.ops,
    graphBaselineEvents: graphWrites.units,
    twoStoreBaselineEvents: twoStoreWrites.units,
    errors: errors.reduce((n, r) => n + r.errors, 0),
    ...(errors.some((r) => r.firstError !== null)
      ? { firstError: errors.find((r) => r.firstError !== null)?.firstError }
      : {}),
  };
}

/** Each figure of a map rounded for reporting. */
function roundAll(figures: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, round(v)]));
}

function mebibytes(setting: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG])?i?[bB]?$/.exec(setting.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  return unit === 'g' ? n * 1024 : unit === 'm' ? n : unit === 'k' ? n / 1024 : n / (1024 * 1024);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
