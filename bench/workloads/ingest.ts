// W1 (15-event batches), W2 (~450 KB batches) and W3 (freshness) through POST /v1/batch, each with its
// raw baseline where the issue asks for one.
import { BATCH_CHUNK } from '../../src/ingest/ingest.service.ts';
import { IngestBaseline } from '../baseline.ts';
import { EventFactory, toSegment, type PlannedEvent } from '../events.ts';
import { closedLoop, openLoop, percentile, perSecond, round, type LoopResult } from '../measure.ts';
import { Random } from '../random.ts';
import { BATCH_EVENTS, LARGE_BATCH_BYTES, PROBE_USERS, SEED, type RunContext } from '../settings.ts';
import { sleep } from '../stack.ts';

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

const segment = (batch: PlannedEvent[]) => batch.map((p) => toSegment(p.event));

function ackSummary(r: LoopResult) {
  return {
    eventsPerSec: round(perSecond(r)),
    p50Ms: round(percentile(r.latencies, 50)),
    p99Ms: round(percentile(r.latencies, 99)),
    requests: r.ops,
    errors: r.errors,
    ...(r.firstError === null ? {} : { firstError: r.firstError }),
  };
}

/** W1: 15-event batches from `clients` concurrent clients, then the raw baseline the same way. */
export async function runW1(ctx: RunContext) {
  const { clients, ingest } = ctx.settings;
  const maxOps = 1_000_000;
  const api = new IngestStream(ctx, 'w1', SEED + 1);
  ctx.log(
    `W1: ${clients} clients, ${BATCH_EVENTS}-event batches, ${ingest.durationMs / 1000} s through POST /v1/batch`,
  );
  const viaApi = await closedLoop({
    clients,
    ...ingest,
    maxOps,
    op: async () => {
      await ctx.client.batch(segment(api.batch(BATCH_EVENTS)));
      return BATCH_EVENTS;
    },
  });
  const raw = new IngestStream(ctx, 'w1b', SEED + 2);
  const baseline = new IngestBaseline(ctx.stack.driver, ctx.stack.bench, ctx.main.space);
  ctx.log('W1: raw baseline');
  const viaDriver = await closedLoop({
    clients,
    ...ingest,
    maxOps,
    op: () => baseline.write(raw.batch(BATCH_EVENTS)),
  });
  const eventsPerSec = perSecond(viaApi);
  const baselineEventsPerSec = perSecond(viaDriver);
  return {
    ...ackSummary(viaApi),
    baselineEventsPerSec: round(baselineEventsPerSec),
    ratio: round(eventsPerSec / baselineEventsPerSec),
    baselineErrors: viaDriver.errors,
    clients,
    batchEvents: BATCH_EVENTS,
    durationS: ingest.durationMs / 1000,
    mix: '60% track, 10% page, 10% screen, 15% identify, 5% group; 5% add an identifier',
  };
}

/**
 * W2: ~450 KB batches (several hundred events each), then its raw baseline. A request takes seconds, so
 * this one is count-bounded: after one warm-up request per client, each client sends `requests` more and
 * the rate is their events over the time until the last answer. The engine commits a request in
 * transactions of BATCH_CHUNK events; the baseline writes the same request in transactions of that size.
 */
export async function runW2(ctx: RunContext) {
  const { clients, requests, maxMs } = ctx.settings.largeBatches;
  const sizes: number[] = [];
  const counts: number[] = [];
  const measure = async (send: (events: PlannedEvent[]) => Promise<unknown>, stream: IngestStream) => {
    const op = async () => {
      const { events, bytes } = stream.batchOfSize(LARGE_BATCH_BYTES);
      sizes.push(bytes);
      counts.push(events.length);
      await send(events);
      return events.length;
    };
    await closedLoop({ clients, warmupMs: 0, durationMs: maxMs, maxOps: clients, op });
    return closedLoop({
      clients,
      warmupMs: 0,
      durationMs: maxMs,
      maxOps: clients * requests,
      drain: true,
      op,
    });
  };
  ctx.log(`W2: ${clients} clients x ${requests} requests of ~${LARGE_BATCH_BYTES / 1000} KB`);
  const viaApi = await measure(
    (events) => ctx.client.batch(segment(events)),
    new IngestStream(ctx, 'w2', SEED + 3),
  );
  const baseline = new IngestBaseline(ctx.stack.driver, ctx.stack.bench, ctx.main.space);
  ctx.log('W2: raw baseline');
  const viaDriver = await measure(
    async (events) => {
      for (let i = 0; i < events.length; i += BATCH_CHUNK)
        await baseline.write(events.slice(i, i + BATCH_CHUNK));
    },
    new IngestStream(ctx, 'w2b', SEED + 4),
  );
  const eventsPerSec = perSecond(viaApi);
  const baselineEventsPerSec = perSecond(viaDriver);
  return {
    eventsPerSec: round(eventsPerSec),
    baselineEventsPerSec: round(baselineEventsPerSec),
    ratio: round(eventsPerSec / baselineEventsPerSec),
    p50Ms: round(percentile(viaApi.latencies, 50)),
    p99Ms: round(percentile(viaApi.latencies, 99)),
    requests: viaApi.ops,
    errors: viaApi.errors,
    ...(viaApi.firstError === null ? {} : { firstError: viaApi.firstError }),
    baselineErrors: viaDriver.errors,
    clients,
    batchKB: round(average(sizes) / 1000),
    batchEvents: Math.round(average(counts)),
    txEvents: BATCH_CHUNK,
    measuredS: round(viaApi.windowMs / 1000),
    baselineMeasuredS: round(viaDriver.windowMs / 1000),
  };
}

/** Open-loop 15-event batches at `eventsPerSec` (W3's and W6's background load). */
export function ingestAtRate(
  ctx: RunContext,
  stream: IngestStream,
  eventsPerSec: number,
  phase: { warmupMs: number; durationMs: number },
  afterAck?: (i: number) => Promise<void>,
  probe?: (i: number) => PlannedEvent,
) {
  return openLoop({
    rate: eventsPerSec / BATCH_EVENTS,
    ...phase,
    maxInFlight: 4 * ctx.settings.clients,
    op: async (i) => {
      const batch = stream.batch(probe === undefined ? BATCH_EVENTS : BATCH_EVENTS - 1);
      if (probe !== undefined) batch.push(probe(i));
      await ctx.client.batch(segment(batch));
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
  const measureFrom = performance.now() + phase.warmupMs;
  ctx.log(
    `W3: ${Math.round(rate)} events/s (half of ${basis}), probe per batch, ${phase.durationMs / 1000} s`,
  );
  const load = await ingestAtRate(
    ctx,
    stream,
    rate,
    phase,
    async (i) => {
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
    },
    (i) => {
      const p = stream.probe(i);
      probes.set(i, p);
      return p.planned;
    },
  );
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
  const r = await closedLoop({
    clients: ctx.settings.clients,
    warmupMs: 2_000,
    durationMs: 5_000,
    maxOps: 100_000,
    op: async () => {
      await ctx.client.batch(segment(stream.batch(BATCH_EVENTS)));
      return BATCH_EVENTS;
    },
  });
  return perSecond(r);
}

function average(xs: number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}
