// W7 (issue 13): computed traits. A backfill over the seeded history, W1 without and with 20 computed
// traits in the same run, ack → visible freshness of a computed value under load, and an oracle check of
// every stored value of 1,000 profiles against computeTrait over their events (docs/adr/0011-benchmarks.md,
// docs/adr/0021-computed-traits.md). The API runs in its own process, so it is driven over HTTP; whether
// its worker has drained is read from PostgreSQL (bench/sql/computed/).
import { CONSUMER, emptyValue } from '../../src/computed/index.ts';
import {
  computeTrait,
  parseComputedTrait,
  type ComputedTraitDefinition,
  type LanguageEvent,
} from '../../src/language/index.ts';
import { stringifyJson } from '../../src/json.ts';
import { ApiClient } from '../client.ts';
import { EventFactory, toSegment } from '../events.ts';
import { percentile, perSecond, round } from '../measure.ts';
import { Random } from '../random.ts';
import { PROBE_USERS, SEED, type RunContext } from '../settings.ts';
import { sleep } from '../stack.ts';
import {
  ackSummary,
  fastPathShare,
  ingestAtRate,
  IngestStream,
  ratedBodies,
  statementTime,
  w1ApiPhase,
} from './ingest.ts';

/** The trait whose backfill is timed: a sum over every order of the history (the first of TRAITS). */
const BACKFILL_KEY = 'revenue';
/** The trait the freshness probes watch: an order count, so that each probe moves it by one. */
const PROBE_KEY = 'orders';
/** The track the backfilled trait and the probes' counter match (the seed draws it among 8 track names). */
export const ORDER = 'Order Completed';

/**
 * The 20 traits of the loaded phase, over the events the seed and the W1 mix generate (bench/events.ts):
 * every reducer kind, windows in days and hours, and conditions. Windowed ones see only the run's own
 * events: the seeded history ends in November 2025 (run.ts HISTORY_START), long before any window's reach.
 */
export const TRAITS: Record<string, string> = {
  [BACKFILL_KEY]: `event('${ORDER}').sum(property('price'))`,
  [PROBE_KEY]: `event('${ORDER}').count()`,
  orders_7d: `event('${ORDER}').within(7 days).count()`,
  big_orders: `event('${ORDER}').where(property('price') >= 100).count()`,
  avg_order: `event('${ORDER}').avg(property('price'))`,
  min_order_30d: `event('${ORDER}').within(30 days).min(property('price'))`,
  max_order: `event('${ORDER}').max(property('price'))`,
  usual_quantity: `event('Product Added').mode(property('quantity'), 2)`,
  favourite_page: `event('Page Viewed').mode(property('path'), 2)`,
  first_product_viewed: `event('Product Viewed').first(property('product_id'))`,
  last_product_added: `event('Product Added').last(property('product_id'))`,
  last_variant_24h: `event('Screen Viewed').within(24 hours).last(property('variant'))`,
  pages_seen: `event('Page Viewed').unique(property('path'))`,
  pages_seen_count: `event('Page Viewed').unique(property('path')).count()`,
  products_added_30d: `event('Product Added').within(30 days).unique(property('product_id')).count()`,
  searches_2h: `event('Search Performed').within(2 hours).count()`,
  checkout_items_6h: `event('Checkout Started').where(property('quantity') > 1 AND property('currency') = 'USD').within(6 hours).sum(property('quantity'))`,
  pricing_views: `event('Page Viewed').where(property('path') = '/pricing').count()`,
  sign_ins_12h: `event('Signed In').within(12 hours).count()`,
  cheap_carts_avg_7d: `event('Cart Viewed').where(property('price') < 50).within(7 days).avg(property('price'))`,
};

/** Profiles whose every value the oracle check recomputes from scratch. */
const ORACLE_PROFILES = 1_000;
/** Concurrent probes (each on its own probe users) and the most the phase takes. */
const PROBERS = 4;
const MAX_PROBES = 200;
/** Poll bounds for one probe (the worker's tick is 200 ms, so 20 ms is fine-grained enough). */
const POLL_EVERY_MS = 20;
const POLL_FOR_MS = 10_000;
/** Bounds of the waits for a backfill and for the worker's backlog (the run's deadline comes first). */
const LIVE_WAIT_MS = 45 * 60_000;
const DRAIN_WAIT_MS = 10 * 60_000;
/** Concurrent GraphQL reads of the oracle check. */
const READERS = 8;

const CREATE = `mutation CreateTrait($input: CreateComputedTraitInput!) {
  createComputedTrait(input: $input) { ok errors { code message } }
}`;
/** The statuses of a space's computed traits or of its audiences (both have key, status, progress, failure). */
const STATUSES = {
  computedTraits: 'query { list: computedTraits { key status progress failure } }',
  audiences: 'query { list: audiences { key status progress failure } }',
} as const;
const PROBE_VALUE = `query ProbeValue($v: String!) {
  profile(by: { type: "user_id", value: $v }) { computedTraits { key value } }
}`;
const EVENTS_PAGE = `query OracleEvents($id: ID!, $after: String) {
  profileById(id: $id) {
    id
    events(first: 100, after: $after, types: [track, page, screen], order: OLDEST_FIRST) {
      nodes { messageId type event properties timestamp }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

interface TraitStatus {
  key: string;
  status: 'COMPUTING' | 'LIVE' | 'FAILED';
  progress: number;
  failure: string | null;
}

/** An event of Profile.events as the query language reads it. */
export interface EventNode {
  messageId: string;
  type: LanguageEvent['type'];
  event: string | null;
  properties: Record<string, unknown> | null;
  timestamp: string;
}

export function languageEvent(e: EventNode): LanguageEvent {
  return {
    type: e.type,
    ...(e.event === null ? {} : { event: e.event }),
    properties: e.properties ?? {},
    timestamp: new Date(e.timestamp),
    messageId: e.messageId,
  };
}

interface EventsPage {
  profileById: {
    id: string;
    events: {
      nodes: EventNode[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  } | null;
}

/**
 * `warmUp`: W7 is the run's first workload (`--only W7`). Its baseline would then be the first timed phase,
 * right after the run's warm-up, with Neo4j's JIT still compiling, which favours the loaded phase that
 * follows; one unmeasured W1 phase runs first. After W1–W6 the stack is warm and it is skipped.
 */
export async function runW7(ctx: RunContext, warmUp: boolean) {
  const admin = new ApiClient(
    ctx.stack.api.url,
    { writeKey: ctx.main.writeKey, token: ctx.main.adminToken },
    4,
  );
  try {
    const parsed = parseTraits();

    if (warmUp)
      await w1ApiPhase(ctx, 'W7 (W1, not measured: W7 runs first)', new IngestStream(ctx, 'w7w', SEED + 70));
    // W1 without traits: none exists in the space yet, and the worker has nothing left from earlier phases.
    await waitDrained(ctx, 'before W1 without traits');
    const without = await w1ApiPhase(
      ctx,
      'W7 (W1 without computed traits)',
      new IngestStream(ctx, 'w7a', SEED + 71),
    );
    await waitDrained(ctx, 'after W1 without traits');

    const backfill = await timeBackfill(ctx, admin);

    ctx.log(`W7: defining ${Object.keys(TRAITS).length - 1} more computed traits`);
    const t0 = performance.now();
    for (const [key, definition] of Object.entries(TRAITS))
      if (key !== BACKFILL_KEY) await createTrait(admin, key, definition);
    await waitLive(ctx, admin, Object.keys(TRAITS), 250);
    const definedSeconds = (performance.now() - t0) / 1000;
    await waitDrained(ctx, 'after the traits went live');

    const loaded = await w1ApiPhase(
      ctx,
      `W7 (W1 with ${Object.keys(TRAITS).length} computed traits)`,
      new IngestStream(ctx, 'w7b', SEED + 72),
    );
    const backlogAfterLoad = await backlog(ctx);
    const drainMs = await waitDrained(ctx, 'after W1 with traits');

    const eventsPerSecWithout = perSecond(without.result);
    const eventsPerSecWith = perSecond(loaded.result);
    const freshness = await measureFreshness(ctx, eventsPerSecWith / 2);
    await waitDrained(ctx, 'after the freshness phase');

    const oracle = await oracleCheck(ctx, parsed);
    return {
      eventsPerSecWithout: round(eventsPerSecWithout),
      eventsPerSecWith: round(eventsPerSecWith),
      ratio: round(eventsPerSecWith / eventsPerSecWithout),
      backfillMatchingEventsPerSec: backfill.matchingEventsPerSec,
      backfillSecondsPer1MMatching: backfill.secondsPer1MMatching,
      backfillSecondsPer1MHistory: backfill.secondsPer1MHistory,
      drainSecondsAfterLoad: round(drainMs / 1000),
      freshnessP50Ms: freshness.p50Ms,
      freshnessP95Ms: freshness.p95Ms,
      freshnessMaxMs: freshness.maxMs,
      oracleMismatches: oracle.mismatches,
      backfill,
      withoutTraits: { ...phaseSummary(without), statements: statementTime(without.before, without.after) },
      withTraits: { ...phaseSummary(loaded), statements: statementTime(loaded.before, loaded.after) },
      // What the worker had left when the loaded phase ended (profiles marked, change-log rows unread).
      backlogAfterLoad,
      traitsLiveSeconds: round(definedSeconds),
      freshness,
      oracle,
      traits: TRAITS,
      clients: ctx.settings.clients,
      durationS: ctx.settings.ingest.durationMs / 1000,
      unmeasuredW1First: warmUp,
    };
  } finally {
    admin.close();
  }
}

export function phaseSummary(phase: Awaited<ReturnType<typeof w1ApiPhase>>) {
  return {
    ...ackSummary(phase.result),
    apiCpuUsPerEvent: phase.cpu.usPerEvent.api,
    fastPathShare: fastPathShare(phase.before, phase.after).share,
    cpu: phase.cpu,
    autovacuum: phase.autovacuum,
    ...(phase.result.exhausted ? { exhaustedPool: true } : {}),
  };
}

function parseTraits(): { key: string; definition: ComputedTraitDefinition }[] {
  return Object.entries(TRAITS).map(([key, text]) => {
    const parsed = parseComputedTrait(text);
    if (!parsed.ok) throw new Error(`W7 trait ${key}: ${parsed.error.message}`);
    return { key, definition: parsed.definition };
  });
}

/**
 * Defines the backfilled trait over the space's whole history and times it until LIVE: events/s over the
 * history it matches (and over all of the space's events), and the time 1M of either would take at that rate.
 */
async function timeBackfill(ctx: RunContext, admin: ApiClient) {
  const { rows } = await ctx.stack.postgres.pool.query<{
    events: number;
    matching: number;
    profiles: number;
  }>(ctx.stack.postgres.bench.get('computed/space-history'), [ctx.main.space, ORDER]);
  const history = rows[0] ?? { events: 0, matching: 0, profiles: 0 };
  ctx.log(
    `W7: backfilling ${BACKFILL_KEY} (${TRAITS[BACKFILL_KEY]}) over ${history.profiles} profiles, ${history.events} events, ${history.matching} matching`,
  );
  const t0 = performance.now();
  await createTrait(admin, BACKFILL_KEY, TRAITS[BACKFILL_KEY] as string);
  await waitLive(ctx, admin, [BACKFILL_KEY], 50);
  const seconds = (performance.now() - t0) / 1000;
  const matchingEventsPerSec = history.matching / seconds;
  const historyEventsPerSec = history.events / seconds;
  return {
    seconds: round(seconds),
    profiles: history.profiles,
    historyEvents: history.events,
    matchingEvents: history.matching,
    matchingEventsPerSec: round(matchingEventsPerSec),
    historyEventsPerSec: round(historyEventsPerSec),
    profilesPerSec: round(history.profiles / seconds),
    secondsPer1MMatching: round(1e6 / matchingEventsPerSec),
    secondsPer1MHistory: round(1e6 / historyEventsPerSec),
    definition: TRAITS[BACKFILL_KEY],
  };
}

export async function createTrait(
  admin: ApiClient,
  key: string,
  definition: string,
  description = 'bench W7',
): Promise<void> {
  const answer = await admin.graphql<{
    createComputedTrait: { ok: boolean; errors: { code: string; message: string }[] };
  }>(CREATE, { input: { key, definition, description } });
  if (!answer.createComputedTrait.ok)
    throw new Error(`createComputedTrait ${key}: ${JSON.stringify(answer.createComputedTrait.errors)}`);
}

/**
 * Polls the status of the computed traits (or audiences) `keys` every `everyMs` until all are LIVE (a
 * FAILED one throws), logging progress.
 */
export async function waitLive(
  ctx: RunContext,
  client: ApiClient,
  keys: string[],
  everyMs: number,
  list: keyof typeof STATUSES = 'computedTraits',
): Promise<void> {
  const what = list === 'audiences' ? 'audience' : 'computed trait';
  const started = performance.now();
  let logged = started;
  for (;;) {
    const answer = await client.graphql<{ list: TraitStatus[] }>(STATUSES[list], {});
    const mine = answer.list.filter((t) => keys.includes(t.key));
    const failed = mine.find((t) => t.status === 'FAILED');
    if (failed !== undefined) throw new Error(`${what} ${failed.key} FAILED: ${failed.failure}`);
    if (mine.length === keys.length && mine.every((t) => t.status === 'LIVE')) return;
    const now = performance.now();
    if (now - started > LIVE_WAIT_MS) throw new Error(`${what}s not LIVE after ${LIVE_WAIT_MS} ms`);
    if (now - logged >= 5_000) {
      logged = now;
      const progress = mine.reduce((sum, t) => sum + t.progress, 0) / keys.length;
      ctx.log(`computing ${keys.length} ${what}(s) over the history: ${(progress * 100).toFixed(0)} %`);
    }
    await sleep(everyMs);
  }
}

/** The keys of the space's computed traits (or audiences), whatever their status. */
export async function definedKeys(client: ApiClient, list: keyof typeof STATUSES): Promise<string[]> {
  const answer = await client.graphql<{ list: TraitStatus[] }>(STATUSES[list], {});
  return answer.list.map((t) => t.key);
}

export async function backlog(
  ctx: RunContext,
): Promise<{ dirty: number; unread: number; projecting: number }> {
  const { rows } = await ctx.stack.postgres.pool.query<{ dirty: number; unread: number; projecting: number }>(
    ctx.stack.postgres.bench.get('computed/backlog'),
    [CONSUMER],
  );
  return rows[0] ?? { dirty: 0, unread: 0, projecting: 0 };
}

/**
 * Waits until the worker has read the whole change log, recomputed every marked profile and written every
 * changed membership to the graph (all read in one snapshot); returns the ms it took. Ingestion must have
 * stopped, or this measures a moving target.
 */
export async function waitDrained(ctx: RunContext, when: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const left = await backlog(ctx);
    if (left.dirty === 0 && left.unread === 0 && left.projecting === 0) return performance.now() - t0;
    if (performance.now() - t0 > DRAIN_WAIT_MS)
      throw new Error(
        `computed-traits worker not drained ${when} after ${DRAIN_WAIT_MS} ms: ${JSON.stringify(left)}`,
      );
    await sleep(100);
  }
}

/**
 * Freshness under load: the W1 mix at `eventsPerSec` (open loop, as W3), while PROBERS probes each send an
 * `Order Completed` track for a probe user (kept out of the load) and poll the profile's computed traits
 * over GraphQL until `orders` has moved by one: ack → visible.
 */
function measureFreshness(ctx: RunContext, eventsPerSec: number) {
  return probeFreshness(ctx, eventsPerSec, {
    label: 'W7',
    basis: 'half of W1 with traits',
    stream: new IngestStream(ctx, 'w7c', SEED + 73),
    factory: new EventFactory(new Random(SEED + 74), 'w7p'),
    event: ORDER,
    read: async (user) => {
      const answer = await ctx.client.graphql<{
        profile: { computedTraits: { key: string; value: unknown }[] } | null;
      }>(PROBE_VALUE, { v: user });
      const value = answer.profile?.computedTraits.find((t) => t.key === PROBE_KEY)?.value;
      return typeof value === 'number' ? value : 0;
    },
  });
}

/** What a freshness phase's probes send and watch (W7: a computed count; W8: an audience's membership). */
export interface FreshnessProbe {
  /** The workload, for the log. */
  label: string;
  /** Where the load's rate comes from, for the log. */
  basis: string;
  /** The background load's events and the probes' own. */
  stream: IngestStream;
  factory: EventFactory;
  /** The track each probe sends for its user. */
  event: string;
  /** A figure of the user's profile, read over GraphQL, that the probe's track moves up by one. */
  read: (user: string) => Promise<number>;
}

/**
 * The W1 mix at `eventsPerSec` (open loop, as W3), while PROBERS probes each send one `probe.event` track
 * for a probe user (kept out of the load) and poll `probe.read` until it has moved up by one: ack → visible.
 * At most MAX_PROBES probes, so each takes a probe user of its own (MAX_PROBES < PROBE_USERS).
 */
export async function probeFreshness(ctx: RunContext, eventsPerSec: number, probe: FreshnessProbe) {
  const phase = ctx.settings.freshness;
  ctx.log(
    `${probe.label}: freshness, ${Math.round(eventsPerSec)} events/s (${probe.basis}), ${PROBERS} probes at a time, ${phase.durationMs / 1000} s`,
  );
  const bodies = ratedBodies(probe.stream, eventsPerSec, phase);
  ctx.client.reopen();
  const visibleMs: number[] = [];
  let started = 0;
  let timeouts = 0;
  let polls = 0;
  let loading = true;
  const read = (user: string): Promise<number> => {
    polls += 1;
    return probe.read(user);
  };
  // Prober p takes the probe users p, p + PROBERS, ...: no two probes in flight share a user.
  const prober = async (p: number): Promise<void> => {
    await sleep(phase.warmupMs);
    for (let k = 0; loading && started < MAX_PROBES; k++) {
      started += 1;
      const index = ctx.loadUsers + ((p + k * PROBERS) % PROBE_USERS);
      const user = ctx.users.userId(index);
      const before = await read(user);
      const planned = probe.factory.userCall(ctx.users, index, new Date(), 'track');
      planned.event.event = probe.event;
      await ctx.client.send('track', Buffer.from(JSON.stringify(toSegment(planned.event))));
      const acked = performance.now();
      for (;;) {
        const value = await read(user);
        const now = performance.now();
        if (value >= before + 1) {
          visibleMs.push(now - acked);
          break;
        }
        if (now - acked > POLL_FOR_MS) {
          timeouts += 1;
          break;
        }
        await sleep(POLL_EVERY_MS);
      }
    }
  };
  const load = ingestAtRate(ctx, bodies, eventsPerSec, phase).finally(() => {
    loading = false;
  });
  const [result] = await Promise.all([load, ...Array.from({ length: PROBERS }, (_, p) => prober(p))]);
  return {
    p50Ms: round(percentile(visibleMs, 50)),
    p95Ms: round(percentile(visibleMs, 95)),
    maxMs: round(visibleMs.length === 0 ? Number.NaN : Math.max(...visibleMs)),
    samples: visibleMs.length,
    timeouts,
    pollsPerProbe: round(polls / Math.max(1, started)),
    pollEveryMs: POLL_EVERY_MS,
    loadEventsPerSec: round(perSecond(result)),
    targetEventsPerSec: round(eventsPerSec),
    lateRequests: result.late,
    errors: result.errors,
    ...(result.firstError === null ? {} : { firstError: result.firstError }),
    durationS: phase.durationMs / 1000,
  };
}

/**
 * Once ingestion has stopped and the worker drained: every stored value of ORACLE_PROFILES seeded profiles
 * against computeTrait over the profile's events, read through GraphQL (Profile.events, every page), as of
 * one clock. The values are read first and the clock taken after: a stored value was computed at or before
 * it, and stays right until its window's oldest event ages out (expires_at), so a value whose expires_at has
 * passed is swept (the worker's own mark-expired.sql) and the read done again. Windowed traits are compared
 * too.
 */
/**
 * The stored values of some profiles and the clock they hold at: a value stays right until its
 * `expires_at`, so if one has passed, the worker's own mark-expired runs and the read is made again.
 */
export async function storedAtRest(
  ctx: RunContext,
  ids: string[],
  what: string,
): Promise<{
  stored: { subject_id: string; trait_key: string; value: unknown; expires_at: number | null }[];
  now: Date;
  sweeps: number;
}> {
  const pool = ctx.stack.postgres.pool;
  for (let sweeps = 0; ; sweeps++) {
    const { rows: stored } = await pool.query<{
      subject_id: string;
      trait_key: string;
      value: unknown;
      expires_at: number | null;
    }>(ctx.stack.postgres.bench.get('computed/stored-values'), [ctx.main.space, ids]);
    const clock = Date.now();
    if (!stored.some((r) => r.expires_at !== null && r.expires_at <= clock))
      return { stored, now: new Date(clock), sweeps };
    if (sweeps >= 5) throw new Error(`${what}: values keep ageing out of their windows`);
    await pool.query(ctx.stack.postgres.project.get('computed/mark-expired'), [new Date(clock)]);
    await waitDrained(ctx, 'after marking aged-out values');
  }
}

async function oracleCheck(ctx: RunContext, traits: { key: string; definition: ComputedTraitDefinition }[]) {
  const t0 = performance.now();
  const rng = new Random(SEED + 75);
  const picked = new Set<number>();
  const want = Math.min(ORACLE_PROFILES, ctx.users.count);
  while (picked.size < want) picked.add(rng.int(ctx.users.count));
  const seeded = [...picked].map((i) => ctx.users.profileId(i));
  ctx.log(`W7: oracle check, reading the events of ${seeded.length} profiles`);

  const events = new Map<string, LanguageEvent[]>();
  let pages = 0;
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < seeded.length) {
      const id = seeded[next++] as string;
      const list: LanguageEvent[] = [];
      let after: string | null = null;
      let live = id;
      for (;;) {
        const page: EventsPage = await ctx.client.graphql<EventsPage>(EVENTS_PAGE, { id, after });
        pages += 1;
        if (page.profileById === null) throw new Error(`oracle check: no profile ${id}`);
        live = page.profileById.id;
        for (const e of page.profileById.events.nodes) list.push(languageEvent(e));
        if (!page.profileById.events.pageInfo.hasNextPage) break;
        after = page.profileById.events.pageInfo.endCursor;
      }
      events.set(live, list);
    }
  };
  await Promise.all(Array.from({ length: READERS }, () => reader()));

  const ids = [...events.keys()];
  const { stored, now, sweeps } = await storedAtRest(ctx, ids, 'oracle check');
  const byKey = new Map(stored.map((r) => [`${r.subject_id}\u0000${r.trait_key}`, r.value]));
  const mismatches: { profileId: string; key: string; stored: unknown; oracle: unknown }[] = [];
  let eventsRead = 0;
  for (const id of ids) {
    const list = events.get(id) ?? [];
    eventsRead += list.length;
    for (const { key, definition } of traits) {
      const expected = computeTrait(definition, list, now);
      const found = byKey.has(`${id}\u0000${key}`)
        ? byKey.get(`${id}\u0000${key}`)
        : emptyValue(definition.reducer);
      if (stringifyJson(found ?? null) !== stringifyJson(expected ?? null))
        mismatches.push({ profileId: id, key, stored: found, oracle: expected });
    }
  }
  const shown = mismatches.slice(0, 5);
  for (const m of shown) ctx.log(`W7: oracle MISMATCH ${JSON.stringify(m)}`);
  return {
    mismatches: mismatches.length,
    ...(shown.length === 0 ? {} : { firstMismatches: shown }),
    profiles: ids.length,
    values: ids.length * traits.length,
    // Stored rows; every other value is its trait's empty value (0, [] or null).
    nonEmptyValues: stored.length,
    windowedTraits: traits.filter((t) => t.definition.stream.window !== null).length,
    eventsRead,
    eventPages: pages,
    clock: now.toISOString(),
    sweeps,
    seconds: round((performance.now() - t0) / 1000),
  };
}
