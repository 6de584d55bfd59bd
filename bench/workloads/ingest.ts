// W1 (15-event batches), W2 (~450 KB batches) and W3 (freshness) through POST /v1/batch, W1 and W2 each
// with the two raw baselines (issue 12). Request bodies and baseline parameters are built before each timed
// phase, so that the load generator spends its CPU on sending, not on drawing and serialising events.
import { BATCH_CHUNK } from '../../src/ingest/ingest.service.ts';
import { GraphEventsBaseline, TwoStoreBaseline } from '../baseline.ts';
import { batchBody, EventFactory, toSegment, type PlannedEvent } from '../events.ts';
import {
  closedLoop,
  fromPool,
  openLoop,
  percentile,
  perSecond,
  phaseCpu,
  prebuild,
  round,
  scheduledRequests,
  type LoopResult,
} from '../measure.ts';
import { Random } from '../random.ts';
import {
  BATCH_EVENTS,
  LARGE_BATCH_BYTES,
  PROBE_USERS,
  SEED,
  type Phase,
  type RunContext,
} from '../settings.ts';
import { sleep, type StackSample } from '../stack.ts';

/** Share of events that add an identifier to an existing profile (issue #6). */
const ADD_SHARE = 0.05;

/** Draws the W1 mix for the main space's users; `tag` keeps added identifiers apart between streams. */
export class IngestStream {
  private readonly rng: Random;
  private readonly factory: EventFactory;
  private added = 0;

  constructor(
    private readonly ctx: RunContext,
    private readonly tag: string,
    seed: number,
  ) {
    this.rng = new Random(seed);
    this.factory = new EventFactory(this.rng, `${tag}${seed.toString(36)}`);
  }

  next(): PlannedEvent {
    const user = this.rng.int(this.ctx.loadUsers);
    const planned = this.factory.userCall(this.ctx.users, user, new Date());
    if (this.rng.next() < ADD_SHARE) this.factory.addIdentifier(planned, this.added++, `${this.tag}x`);
    return planned;
  }

  batch(events: number): PlannedEvent[] {
    return Array.from({ length: events }, () => this.next());
  }

  /** Events until the request's JSON reaches `bytes`. */
  batchOfSize(bytes: number): { events: PlannedEvent[]; bytes: number } {
    const events: PlannedEvent[] = [];
    let size = '{"batch":[]}'.length;
    for (;;) {
      const next = this.next();
      const more = JSON.stringify(toSegment(next.event)).length + 1;
      if (size + more > bytes) return { events, bytes: size };
      events.push(next);
      size += more;
    }
  }

  /** A W3 probe: an identify setting trait `probe`, or a track whose messageId must show up first. */
  probe(serial: number): { planned: PlannedEvent; user: string; kind: 'trait' | 'event'; expect: string } {
    const users = this.ctx.users;
    const index = this.ctx.loadUsers + (serial % PROBE_USERS);
    const kind = serial % 2 === 0 ? 'trait' : 'event';
    const planned = this.factory.userCall(users, index, new Date(), kind === 'trait' ? 'identify' : 'track');
    const token = `${this.tag}-probe-${serial}`;
    if (kind === 'trait') planned.event.traits = { ...planned.event.traits, probe: token };
    return {
      planned,
      user: users.userId(index),
      kind,
      expect: kind === 'trait' ? token : planned.event.messageId,
    };
  }
}

export function ackSummary(r: LoopResult) {
  return {
    eventsPerSec: round(perSecond(r)),
    p50Ms: round(percentile(r.latencies, 50)),
    p99Ms: round(percentile(r.latencies, 99)),
    requests: r.ops,
    errors: r.errors,
    ...(r.firstError === null ? {} : { firstError: r.firstError }),
  };
}

/**
 * One timed ingest phase: the loop, and what each process spent on it (the stack sampled around it). Its
 * requests are built by then, so the client's idle sockets are renewed first (ApiClient.reopen).
 */
async function timedPhase(ctx: RunContext, loop: () => Promise<LoopResult>) {
  ctx.client.reopen();
  const vacuum = watchAutovacuum(ctx);
  const before = await ctx.stack.sample();
  const t0 = performance.now();
  const result = await loop();
  const wallMs = performance.now() - t0;
  const after = await ctx.stack.sample();
  const autovacuum = await vacuum.stop();
  if (autovacuum.workerSeconds > 0)
    ctx.log(
      `autovacuum during the phase: ${autovacuum.workerSeconds} worker-s on ${autovacuum.tables.join(', ')}`,
    );
  return {
    result,
    before,
    after,
    cpu: phaseCpu(before, after, wallMs, result.totalUnits),
    autovacuum,
  };
}

/** How often watchAutovacuum looks. */
const AUTOVACUUM_SAMPLE_MS = 1_000;

/**
 * PostgreSQL's autovacuum workers during a phase, looked at once a second: their CPU counts in the
 * phase's PostgreSQL figure, and a backfill's writes may leave them work that the phase after it pays
 * for. `workerSeconds`: workers seen × the sampling interval; `tables`: what they worked on.
 */
function watchAutovacuum(ctx: RunContext) {
  let samples = 0;
  let workers = 0;
  const tables = new Set<string>();
  let stopped = false;
  const looking = (async () => {
    while (!stopped) {
      const { rows } = await ctx.stack.postgres.pool
        .query<{ query: string }>(
          `SELECT query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`,
        )
        .catch(() => ({ rows: [] as { query: string }[] }));
      samples += 1;
      workers += rows.length;
      for (const r of rows) tables.add(r.query.replace(/^autovacuum:\s*/, ''));
      await sleep(AUTOVACUUM_SAMPLE_MS);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await looking;
      return {
        samples,
        workerSeconds: (workers * AUTOVACUUM_SAMPLE_MS) / 1000,
        tables: [...tables].sort(),
      };
    },
  };
}

/** Requests a closed-loop phase pre-builds: enough for `poolEventsPerSec` over its warm-up and window. */
function poolRequests(ctx: RunContext, phase: Phase, eventsPerRequest: number): number {
  const ms = phase.warmupMs + phase.durationMs;
  return Math.ceil((ctx.settings.poolEventsPerSec * ms) / 1000 / eventsPerRequest);
}

/** The share of the events the API stored in a phase that took the fast path (services.commit.stats()). */
export function fastPathShare(before: StackSample, after: StackSample) {
  const events = after.apiSample.commit.events - before.apiSample.commit.events;
  const fastPath = after.apiSample.commit.fastPath - before.apiSample.commit.fastPath;
  return { events, fastPath, share: events === 0 ? Number.NaN : round(fastPath / events) };
}

/**
 * Where the API's statements spent their time in a phase: per store, the queries that took most, as
 * statements per event and µs of statement time (sent to last row) per event stored.
 */
export function statementTime(before: StackSample, after: StackSample, top = 40) {
  const events = after.apiSample.commit.events - before.apiSample.commit.events;
  const out: Record<string, Record<string, { perEvent: number; usPerEvent: number }>> = {};
  for (const store of ['neo4j', 'postgres'] as const) {
    const was = before.apiSample.queries[store];
    const rows = Object.entries(after.apiSample.queries[store]).map(([name, t]) => ({
      name,
      count: t.count - (was[name]?.count ?? 0),
      ms: t.ms - (was[name]?.ms ?? 0),
    }));
    rows.sort((a, b) => b.ms - a.ms);
    out[store] = Object.fromEntries(
      rows
        .filter((r) => r.count > 0)
        .slice(0, top)
        .map((r) => [
          r.name,
          {
            perEvent: round(r.count / Math.max(1, events)),
            usPerEvent: round((r.ms * 1000) / Math.max(1, events)),
          },
        ]),
    );
  }
  return out;
}

/**
 * W1: 15-event batches from `clients` concurrent clients through the API, then the two raw baselines the
 * same way: the old design's (events as Neo4j nodes) and the new one's (PostgreSQL rows plus the graph
 * writes the batch needs). Every phase's requests are built before it starts.
 */
export async function runW1(ctx: RunContext) {
  const { clients, ingest } = ctx.settings;
  const requests = poolRequests(ctx, ingest, BATCH_EVENTS);
  const api = await w1ApiPhase(ctx, 'W1', new IngestStream(ctx, 'w1', SEED + 1));

  const graphBaseline = new GraphEventsBaseline(ctx.stack.driver, ctx.stack.bench, ctx.main.space);
  await graphBaseline.prepare();
  const graphStream = new IngestStream(ctx, 'w1b', SEED + 2);
  let graphPlans = prebuild(requests, () => graphBaseline.plan(graphStream.batch(BATCH_EVENTS)));
  ctx.log('W1: raw baseline of the old design (events as Neo4j nodes)');
  const graph = await timedPhase(ctx, () =>
    closedLoop({
      clients,
      ...ingest,
      maxOps: graphPlans.length,
      op: fromPool(graphPlans, (plan) => graphBaseline.write(plan)),
    }),
  );
  graphPlans = [];

  const twoStoreBaseline = twoStore(ctx);
  const twoStoreStream = new IngestStream(ctx, 'w1c', SEED + 10);
  let twoStorePlans = prebuild(requests, () => twoStoreBaseline.plan(twoStoreStream.batch(BATCH_EVENTS)));
  ctx.log('W1: raw baseline of the new design (PostgreSQL rows, graph writes the batch needs)');
  const twoStorePhase = await timedPhase(ctx, () =>
    closedLoop({
      clients,
      ...ingest,
      maxOps: twoStorePlans.length,
      op: fromPool(twoStorePlans, (plan) => twoStoreBaseline.write(plan)),
    }),
  );
  twoStorePlans = [];

  const eventsPerSec = perSecond(api.result);
  const graphEventsPerSec = perSecond(graph.result);
  const twoStoreEventsPerSec = perSecond(twoStorePhase.result);
  const fast = fastPathShare(api.before, api.after);
  return {
    ...ackSummary(api.result),
    graphBaselineEventsPerSec: round(graphEventsPerSec),
    ratioToGraphBaseline: round(eventsPerSec / graphEventsPerSec),
    twoStoreBaselineEventsPerSec: round(twoStoreEventsPerSec),
    ratioToTwoStoreBaseline: round(eventsPerSec / twoStoreEventsPerSec),
    apiCpuUsPerEvent: api.cpu.usPerEvent.api,
    fastPathShare: fast.share,
    fastPath: { events: fast.events, fastPath: fast.fastPath },
    statements: statementTime(api.before, api.after),
    // Each process's CPU in each phase: % of one core, and µs per event completed in it.
    cpu: { api: api.cpu, graphBaseline: graph.cpu, twoStoreBaseline: twoStorePhase.cpu },
    graphBaselineErrors: graph.result.errors,
    twoStoreBaselineErrors: twoStorePhase.result.errors,
    ...firstBaselineError(graph.result, twoStorePhase.result),
    graphBaselineDeadlockRetries: graphBaseline.deadlockRetries,
    twoStoreBaselineDeadlockRetries: twoStoreBaseline.deadlockRetries,
    ...exhausted({ api: api.result, graphBaseline: graph.result, twoStoreBaseline: twoStorePhase.result }),
    clients,
    batchEvents: BATCH_EVENTS,
    durationS: ingest.durationMs / 1000,
    mix: '60% track, 10% page, 10% screen, 15% identify, 5% group; 5% add an identifier',
  };
}

/**
 * W1's API phase: `clients` concurrent clients send 15-event batches of `stream` through POST /v1/batch for
 * the ingest window (closed loop), their bodies built first. W7 runs it again, without and with computed
 * traits, so that both of its rates are measured exactly as W1's.
 */
export async function w1ApiPhase(ctx: RunContext, label: string, stream: IngestStream) {
  const { clients, ingest } = ctx.settings;
  const requests = poolRequests(ctx, ingest, BATCH_EVENTS);
  ctx.log(`${label}: building ${requests} request bodies of ${BATCH_EVENTS} events`);
  const bodies = prebuild(requests, () => batchBody(stream.batch(BATCH_EVENTS)));
  ctx.log(
    `${label}: ${clients} clients, ${BATCH_EVENTS}-event batches, ${ingest.durationMs / 1000} s through POST /v1/batch`,
  );
  return timedPhase(ctx, () =>
    closedLoop({
      clients,
      ...ingest,
      maxOps: bodies.length,
      op: fromPool(bodies, async (body) => {
        await ctx.client.postBatch(body);
        return BATCH_EVENTS;
      }),
    }),
  );
}

function twoStore(ctx: RunContext): TwoStoreBaseline {
  return new TwoStoreBaseline(ctx.stack.driver, ctx.stack.bench, ctx.stack.postgres, ctx.main.space);
}

function firstBaselineError(...results: LoopResult[]) {
  const first = results.find((r) => r.firstError !== null)?.firstError;
  return first === undefined || first === null ? {} : { baselineFirstError: first };
}

/** Phases whose pre-built requests ran out before their window's end (their window ended there). */
function exhausted(phases: Record<string, LoopResult>) {
  const names = Object.entries(phases)
    .filter(([, r]) => r.exhausted)
    .map(([n]) => n);
  return names.length === 0 ? {} : { exhaustedPools: names };
}

/**
 * W2: ~450 KB batches (several hundred events each), then its two raw baselines. A request takes seconds,
 * so this one is count-bounded: after one warm-up request per client, each client sends `requests` more and
 * the rate is their events over the time until the last answer. The engine commits a request in
 * transactions of BATCH_CHUNK events; the baselines write the same request in transactions of that size.
 */
export async function runW2(ctx: RunContext) {
  const { clients, requests, maxMs } = ctx.settings.largeBatches;
  const total = clients * (requests + 1);
  const sizes: number[] = [];
  const counts: number[] = [];
  const measure = <T>(pool: { items: T; events: number }[], send: (items: T) => Promise<unknown>) => {
    const op = fromPool(pool, async ({ items, events }) => {
      await send(items);
      return events;
    });
    return timedPhase(ctx, async () => {
      await closedLoop({ clients, warmupMs: 0, durationMs: maxMs, maxOps: clients, op });
      return closedLoop({
        clients,
        warmupMs: 0,
        durationMs: maxMs,
        maxOps: clients * requests,
        drain: true,
        op,
      });
    });
  };
  /** `total` requests of ~LARGE_BATCH_BYTES from a stream, each as `build` makes it. */
  const requestsOf = <T>(stream: IngestStream, build: (events: PlannedEvent[]) => T) =>
    prebuild(total, () => {
      const { events, bytes } = stream.batchOfSize(LARGE_BATCH_BYTES);
      sizes.push(bytes);
      counts.push(events.length);
      return { items: build(events), events: events.length };
    });
  /** A request's events in transactions of BATCH_CHUNK, as the engine commits them. */
  const chunks = (events: PlannedEvent[]) => {
    const out: PlannedEvent[][] = [];
    for (let i = 0; i < events.length; i += BATCH_CHUNK) out.push(events.slice(i, i + BATCH_CHUNK));
    return out;
  };
  ctx.log(`W2: ${clients} clients x ${requests} requests of ~${LARGE_BATCH_BYTES / 1000} KB`);
  const api = await measure(
    requestsOf(new IngestStream(ctx, 'w2', SEED + 3), (events) => batchBody(events)),
    (body) => ctx.client.postBatch(body),
  );
  const graphBaseline = new GraphEventsBaseline(ctx.stack.driver, ctx.stack.bench, ctx.main.space);
  await graphBaseline.prepare();
  ctx.log('W2: raw baseline of the old design (events as Neo4j nodes)');
  const graph = await measure(
    requestsOf(new IngestStream(ctx, 'w2b', SEED + 4), (events) =>
      chunks(events).map((c) => graphBaseline.plan(c)),
    ),
    async (plans) => {
      for (const plan of plans) await graphBaseline.write(plan);
    },
  );
  const twoStoreBaseline = twoStore(ctx);
  ctx.log('W2: raw baseline of the new design (PostgreSQL rows, graph writes the batch needs)');
  const twoStorePhase = await measure(
    requestsOf(new IngestStream(ctx, 'w2c', SEED + 11), (events) =>
      chunks(events).map((c) => twoStoreBaseline.plan(c)),
    ),
    async (plans) => {
      for (const plan of plans) await twoStoreBaseline.write(plan);
    },
  );
  const eventsPerSec = perSecond(api.result);
  const graphEventsPerSec = perSecond(graph.result);
  const twoStoreEventsPerSec = perSecond(twoStorePhase.result);
  const fast = fastPathShare(api.before, api.after);
  return {
    eventsPerSec: round(eventsPerSec),
    graphBaselineEventsPerSec: round(graphEventsPerSec),
    ratioToGraphBaseline: round(eventsPerSec / graphEventsPerSec),
    twoStoreBaselineEventsPerSec: round(twoStoreEventsPerSec),
    ratioToTwoStoreBaseline: round(eventsPerSec / twoStoreEventsPerSec),
    apiCpuUsPerEvent: api.cpu.usPerEvent.api,
    fastPathShare: fast.share,
    statements: statementTime(api.before, api.after),
    p50Ms: round(percentile(api.result.latencies, 50)),
    p99Ms: round(percentile(api.result.latencies, 99)),
    requests: api.result.ops,
    errors: api.result.errors,
    ...(api.result.firstError === null ? {} : { firstError: api.result.firstError }),
    graphBaselineErrors: graph.result.errors,
    twoStoreBaselineErrors: twoStorePhase.result.errors,
    ...firstBaselineError(graph.result, twoStorePhase.result),
    graphBaselineDeadlockRetries: graphBaseline.deadlockRetries,
    twoStoreBaselineDeadlockRetries: twoStoreBaseline.deadlockRetries,
    cpu: { api: api.cpu, graphBaseline: graph.cpu, twoStoreBaseline: twoStorePhase.cpu },
    clients,
    batchKB: round(average(sizes) / 1000),
    batchEvents: Math.round(average(counts)),
    txEvents: BATCH_CHUNK,
    measuredS: round(api.result.windowMs / 1000),
    graphBaselineMeasuredS: round(graph.result.windowMs / 1000),
    twoStoreBaselineMeasuredS: round(twoStorePhase.result.windowMs / 1000),
  };
}

/**
 * Bodies of open-loop 15-event batches at `eventsPerSec` over `phase` (W3's and W6's background load),
 * built before it starts; `probe(i)` puts a probe last in request i.
 */
export function ratedBodies(
  stream: IngestStream,
  eventsPerSec: number,
  phase: Phase,
  probe?: (i: number) => PlannedEvent,
): Buffer[] {
  const rate = eventsPerSec / BATCH_EVENTS;
  return prebuild(scheduledRequests({ rate, ...phase }), (i) => {
    const batch = stream.batch(probe === undefined ? BATCH_EVENTS : BATCH_EVENTS - 1);
    if (probe !== undefined) batch.push(probe(i));
    return batchBody(batch);
  });
}

/** Open-loop 15-event batches at `eventsPerSec`, sending bodies built by ratedBodies for the same phase. */
export function ingestAtRate(
  ctx: RunContext,
  bodies: readonly Buffer[],
  eventsPerSec: number,
  phase: Phase,
  afterAck?: (i: number) => Promise<void>,
) {
  return openLoop({
    rate: eventsPerSec / BATCH_EVENTS,
    ...phase,
    maxInFlight: 4 * ctx.settings.clients,
    op: async (i) => {
      const body = bodies[i];
      if (body === undefined) throw new Error(`no pre-built body for request ${i}`);
      await ctx.client.postBatch(body);
      if (afterAck !== undefined) await afterAck(i);
      return BATCH_EVENTS;
    },
  });
}

const PROBE_QUERIES = {
  trait:
    'query ($v: String!) { profile(by: { type: "user_id", value: $v }) { trait(key: "probe") { value } } }',
  event:
    'query ($v: String!) { profile(by: { type: "user_id", value: $v }) { events(first: 1) { nodes { messageId } } } }',
};

interface ProbeAnswer {
  profile: { trait?: { value: unknown } | null; events?: { nodes: { messageId: string }[] } } | null;
}

/** Poll bounds for one probe: every 5 ms, for at most 10 s. */
const POLL_EVERY_MS = 5;
const POLL_FOR_MS = 10_000;

/**
 * W3: batches at half of W1's rate, each carrying one probe (a new trait or a new newest event of a user
 * kept out of the load); after the ack, GraphQL is polled until the probe shows.
 */
export async function runW3(ctx: RunContext, w1EventsPerSec: number, basis: string) {
  const rate = w1EventsPerSec / 2;
  const phase = ctx.settings.freshness;
  const stream = new IngestStream(ctx, 'w3', SEED + 5);
  const probes = new Map<number, ReturnType<IngestStream['probe']>>();
  const visibleMs: number[] = [];
  let timeouts = 0;
  let polls = 0;
  ctx.log(
    `W3: ${Math.round(rate)} events/s (half of ${basis}), probe per batch, ${phase.durationMs / 1000} s`,
  );
  const bodies = ratedBodies(stream, rate, phase, (i) => {
    const p = stream.probe(i);
    probes.set(i, p);
    return p.planned;
  });
  ctx.client.reopen();
  const measureFrom = performance.now() + phase.warmupMs;
  const load = await ingestAtRate(ctx, bodies, rate, phase, async (i) => {
    const p = probes.get(i);
    probes.delete(i);
    if (p === undefined) return;
    const acked = performance.now();
    for (;;) {
      polls += 1;
      const answer = await ctx.client.graphql<ProbeAnswer>(PROBE_QUERIES[p.kind], { v: p.user });
      const seen =
        p.kind === 'trait'
          ? answer.profile?.trait?.value === p.expect
          : answer.profile?.events?.nodes[0]?.messageId === p.expect;
      const now = performance.now();
      if (seen) {
        if (acked >= measureFrom) visibleMs.push(now - acked);
        return;
      }
      if (now - acked > POLL_FOR_MS) {
        timeouts += 1;
        return;
      }
      await sleep(POLL_EVERY_MS);
    }
  });
  return {
    p50Ms: round(percentile(visibleMs, 50)),
    p95Ms: round(percentile(visibleMs, 95)),
    p99Ms: round(percentile(visibleMs, 99)),
    samples: visibleMs.length,
    timeouts,
    pollsPerProbe: round(polls / Math.max(1, visibleMs.length + timeouts)),
    loadEventsPerSec: round(perSecond(load)),
    targetEventsPerSec: round(rate),
    rateBasis: basis,
    lateRequests: load.late,
    errors: load.errors,
    ...(load.firstError === null ? {} : { firstError: load.firstError }),
    durationS: phase.durationMs / 1000,
  };
}

/** When W3 or W6 runs without W1: a short closed-loop W1 through the API gives the rate to halve. */
export async function calibrateW1(ctx: RunContext): Promise<number> {
  const stream = new IngestStream(ctx, 'cal', SEED + 6);
  const phase = { warmupMs: 2_000, durationMs: 5_000 };
  const bodies = prebuild(poolRequests(ctx, phase, BATCH_EVENTS), () =>
    batchBody(stream.batch(BATCH_EVENTS)),
  );
  const r = await closedLoop({
    clients: ctx.settings.clients,
    ...phase,
    maxOps: bodies.length,
    op: fromPool(bodies, async (body) => {
      await ctx.client.postBatch(body);
      return BATCH_EVENTS;
    }),
  });
  return perSecond(r);
}

function average(xs: number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}
