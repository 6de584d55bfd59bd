// W8 (issue 14): audiences. An audience created over the seeded history (COMPUTING → LIVE), W1 without and
// with 20 audiences and 20 computed traits in the same run, ack → membership visible under load, previews
// over the whole space, and an oracle check of 1,000 profiles' memberships against evaluateSubject over
// inputs read through GraphQL (docs/adr/0011-benchmarks.md, docs/adr/0022-audiences.md). Like W7, it drives
// the API over HTTP and reads from PostgreSQL whether the worker has drained.
import {
  emptyValue,
  evaluateSubject,
  evaluationOrder,
  type Computation,
  type SubjectInput,
} from '../../src/computed/index.ts';
import { parseAudience, parseComputedTrait } from '../../src/language/index.ts';
import { stringifyJson } from '../../src/json.ts';
import { ApiClient } from '../client.ts';
import { EventFactory } from '../events.ts';
import { timeDeliveries } from './deliveries.ts';
import { percentile, perSecond, round } from '../measure.ts';
import { Random } from '../random.ts';
import { SEED, type RunContext } from '../settings.ts';
import { IngestStream, statementTime, w1ApiPhase } from './ingest.ts';
import {
  backlog,
  createTrait,
  definedKeys,
  languageEvent,
  ORDER,
  phaseSummary,
  probeFreshness,
  storedAtRest,
  TRAITS,
  waitDrained,
  waitLive,
  type EventNode,
} from './computed.ts';

interface AudienceSpec {
  key: string;
  definition: string;
  includeAnonymous?: boolean;
}

/** The audience whose creation over the whole history is timed (the first of AUDIENCES). */
const BACKFILL_KEY = 'repeat_buyers';
/** The audience the freshness probes enter: no seeded or W1 event is a `Signed Up` track. */
const PROBE_KEY = 'signed_up';
const PROBE_EVENT = 'Signed Up';

/**
 * The 20 audiences of the loaded phase, in the order they are created: an audience after the ones it refers
 * to. Over the seed's and the W1 mix's events (bench/events.ts) and the custom traits its identify calls set
 * (`plan`, `seats`, `lastLogin`), W7's computed traits (TRAITS) and each other. Windowed conditions see only
 * the run's own events: the seeded history ends in November 2025. Every profile of the main space holds a
 * `user_id`, so include anonymous changes no membership here; it is set on some so that both paths run.
 */
export const AUDIENCES: AudienceSpec[] = [
  { key: BACKFILL_KEY, definition: `event('${ORDER}').count() >= 2` },
  { key: PROBE_KEY, definition: `event('${PROBE_EVENT}').count() >= 1` },
  // Event counts, with windows and filters.
  { key: 'active_viewers_7d', definition: `event('Product Viewed').within(7 days).count() >= 2` },
  {
    key: 'cart_abandoners_24h',
    definition: `event('Cart Viewed').within(24 hours).count() >= 1 AND event('${ORDER}').within(24 hours).count() = 0`,
  },
  {
    key: 'big_checkouts_6h',
    definition: `event('Checkout Started').where(property('quantity') >= 2).within(6 hours).count() >= 1`,
    includeAnonymous: true,
  },
  {
    key: 'variant_b_screens_12h',
    definition: `event('Screen Viewed').where(property('variant') = 'b').within(12 hours).count() >= 2`,
    includeAnonymous: true,
  },
  { key: 'premium_order', definition: `event('${ORDER}').where(property('price') >= 150).count() >= 1` },
  // Absence.
  {
    key: 'no_orders_30d',
    definition: `event('${ORDER}').within(30 days).count() = 0`,
    includeAnonymous: true,
  },
  { key: 'never_searched', definition: `event('Search Performed').count() = 0` },
  // Custom traits.
  { key: 'pro_plan', definition: `trait('plan') = 'pro'` },
  {
    key: 'small_paid_teams',
    definition: `trait('plan').one_of('starter', 'pro') AND trait('seats') < 10`,
  },
  { key: 'big_teams', definition: `trait('seats') >= 40`, includeAnonymous: true },
  { key: 'logged_in_today', definition: `trait('lastLogin').within_last(1 days)` },
  // Computed traits.
  { key: 'big_spenders', definition: `trait('revenue') >= 250` },
  { key: 'frequent_buyers', definition: `trait('orders') >= 3` },
  {
    key: 'browsers_not_buyers',
    definition: `trait('pages_seen_count') >= 3 AND trait('orders') = 0`,
    includeAnonymous: true,
  },
  {
    key: 'pricing_curious',
    definition: `trait('pricing_views') >= 1 AND NOT trait('plan') = 'enterprise'`,
  },
  // Other audiences, up to three levels deep.
  { key: 'vip', definition: `trait('big_spenders') = true OR trait('frequent_buyers') = true` },
  { key: 'pro_repeat_buyers', definition: `trait('pro_plan') = true AND trait('repeat_buyers') = true` },
  {
    key: 'vip_win_back',
    definition: `trait('vip') = true AND trait('no_orders_30d') = true AND NOT trait('cart_abandoners_24h') = true`,
  },
];

/**
 * Drafts previewed over the whole space once the run's events are in. The first is BACKFILL_KEY's own
 * definition, so its size must equal the live audience's.
 */
const PREVIEWS = [
  `event('${ORDER}').count() >= 2`,
  `event('Product Added').count() >= 2 AND event('${ORDER}').count() = 0`,
  `trait('plan') = 'enterprise' AND trait('seats') >= 25`,
  `trait('vip') = true OR trait('pricing_views') >= 2`,
  `event('Page Viewed').where(property('path') = '/pricing').within(30 days).count() >= 1`,
];
/** A preview evaluates every profile; on 100k profiles that may take minutes. */
const PREVIEW_TIMEOUT_MS = 30 * 60_000;

/** Profiles whose memberships (and computed values) the oracle check evaluates from scratch. */
const ORACLE_PROFILES = 1_000;
/** Concurrent GraphQL reads of the oracle check. */
const READERS = 8;

const CREATE = `mutation CreateAudience($input: CreateAudienceInput!) {
  createAudience(input: $input) { ok errors { code message } }
}`;
const PROBE_MEMBERSHIP = `query ProbeMembership($v: String!) {
  profile(by: { type: "user_id", value: $v }) { audiences { key } }
}`;
const PREVIEW = `query Preview($input: PreviewAudienceInput!) {
  previewAudience(input: $input) { ok size errors { code message } }
}`;
const SIZE = `query Size($key: String!) { audience(key: $key) { size } }`;
const INPUT_PAGE = `query OracleInput($id: ID!, $after: String, $first: Boolean!) {
  profileById(id: $id) {
    id
    traits @include(if: $first)
    identifiers @include(if: $first) { type value }
    events(first: 100, after: $after, types: [track, page, screen], order: OLDEST_FIRST) {
      nodes { messageId type event properties timestamp }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

interface InputPage {
  profileById: {
    id: string;
    traits?: Record<string, unknown>;
    identifiers?: { type: string; value: string }[];
    events: { nodes: EventNode[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  } | null;
}

/** W7's W1 rates, when W7 ran earlier in the run and left its 20 computed traits in the main space. */
export interface W7Rates {
  eventsPerSecWithout: number;
  eventsPerSecWith: number;
}

/**
 * `warmUp`: W8 is the run's first workload, so an unmeasured W1 phase runs before its baseline (as in W7).
 * `w7`: W7 ran in this run. Its 20 computed traits, the same TRAITS, are then the loaded phase's 20, and its
 * W1 without computed traits, measured before any definition existed, is W8's baseline; without W7, W8
 * measures its own baseline first and defines the traits itself.
 */
export async function runW8(ctx: RunContext, options: { warmUp: boolean; w7?: W7Rates }) {
  const admin = new ApiClient(
    ctx.stack.api.url,
    { writeKey: ctx.main.writeKey, token: ctx.main.adminToken },
    4,
  );
  try {
    const computations = parseComputations();
    const traitKeys = Object.keys(TRAITS);
    const existing = await definedKeys(admin, 'computedTraits');
    const audiencesBefore = await definedKeys(admin, 'audiences');
    if (audiencesBefore.length > 0)
      throw new Error(`W8: the main space already has audiences (${audiencesBefore.join(', ')})`);

    let baseline: {
      eventsPerSec: number;
      from: 'W7' | 'W8';
      phase?: ReturnType<typeof phaseSummary> & { statements: ReturnType<typeof statementTime> };
    };
    let traitsLiveSeconds: number | null = null;
    if (options.w7 !== undefined) {
      if (traitKeys.some((k) => !existing.includes(k)) || existing.length !== traitKeys.length)
        throw new Error(`W8: W7 ran but the space's computed traits are ${existing.join(', ')}`);
      await waitLive(ctx, admin, traitKeys, 250);
      baseline = { eventsPerSec: options.w7.eventsPerSecWithout, from: 'W7' };
      ctx.log("W8: W7's 20 computed traits are in the space; W7's W1 without them is the baseline");
    } else {
      if (existing.length > 0)
        throw new Error(`W8: the main space already has computed traits (${existing.join(', ')})`);
      if (options.warmUp)
        await w1ApiPhase(
          ctx,
          'W8 (W1, not measured: W8 runs first)',
          new IngestStream(ctx, 'w8w', SEED + 80),
        );
      await waitDrained(ctx, 'before W1 without definitions');
      const without = await w1ApiPhase(
        ctx,
        'W8 (W1 without computed traits or audiences)',
        new IngestStream(ctx, 'w8a', SEED + 81),
      );
      await waitDrained(ctx, 'after W1 without definitions');
      baseline = {
        eventsPerSec: perSecond(without.result),
        from: 'W8',
        phase: { ...phaseSummary(without), statements: statementTime(without.before, without.after) },
      };
      ctx.log(`W8: defining W7's ${traitKeys.length} computed traits`);
      const t0 = performance.now();
      for (const [key, definition] of Object.entries(TRAITS))
        await createTrait(admin, key, definition, 'bench W8');
      await waitLive(ctx, admin, traitKeys, 250);
      traitsLiveSeconds = round((performance.now() - t0) / 1000);
      await waitDrained(ctx, 'after the computed traits went live');
    }

    const backfill = await timeBackfill(ctx, admin);
    const drainAfterBackfillMs = await waitDrained(ctx, `after ${BACKFILL_KEY} went live`);

    const rest = AUDIENCES.filter((a) => a.key !== BACKFILL_KEY);
    ctx.log(`W8: defining ${rest.length} more audiences`);
    const t0 = performance.now();
    for (const audience of rest) await createAudience(admin, audience);
    await waitLive(
      ctx,
      admin,
      AUDIENCES.map((a) => a.key),
      250,
      'audiences',
    );
    const audiencesLiveSeconds = (performance.now() - t0) / 1000;
    await waitDrained(ctx, 'after the audiences went live');

    const loaded = await w1ApiPhase(
      ctx,
      `W8 (W1 with ${AUDIENCES.length} audiences and ${traitKeys.length} computed traits)`,
      new IngestStream(ctx, 'w8b', SEED + 82),
    );
    const backlogAfterLoad = await backlog(ctx);
    const drainMs = await waitDrained(ctx, 'after W1 with audiences');

    const eventsPerSecWith = perSecond(loaded.result);
    const freshness = await probeFreshness(ctx, eventsPerSecWith / 2, {
      label: 'W8',
      basis: 'half of W1 with audiences',
      stream: new IngestStream(ctx, 'w8c', SEED + 83),
      factory: new EventFactory(new Random(SEED + 84), 'w8p'),
      event: PROBE_EVENT,
      read: async (user) => {
        const answer = await ctx.client.graphql<{ profile: { audiences: { key: string }[] } | null }>(
          PROBE_MEMBERSHIP,
          { v: user },
        );
        return answer.profile?.audiences.some((a) => a.key === PROBE_KEY) === true ? 1 : 0;
      },
    });
    await waitDrained(ctx, 'after the freshness phase');

    const preview = await timePreviews(ctx);
    const oracle = await oracleCheck(ctx, admin, computations);
    const deliveries = await timeDeliveries(
      ctx,
      admin,
      AUDIENCES.map((a) => a.key),
    );
    return {
      backfillSeconds: backfill.seconds,
      backfillProfilesPerSec: backfill.profilesPerSec,
      eventsPerSecWithout: round(baseline.eventsPerSec),
      eventsPerSecWith: round(eventsPerSecWith),
      ratio: round(eventsPerSecWith / baseline.eventsPerSec),
      // W7's W1 with its 20 computed traits alone, when W7 ran: what the audiences cost on top of them.
      ...(options.w7 === undefined
        ? {}
        : {
            eventsPerSecWithTraitsOnly: round(options.w7.eventsPerSecWith),
            ratioToTraitsOnly: round(eventsPerSecWith / options.w7.eventsPerSecWith),
          }),
      baselineFrom: baseline.from,
      drainSecondsAfterLoad: round(drainMs / 1000),
      freshnessP50Ms: freshness.p50Ms,
      freshnessP95Ms: freshness.p95Ms,
      freshnessMaxMs: freshness.maxMs,
      previewP50Seconds: preview.p50Seconds,
      previewP95Seconds: preview.p95Seconds,
      oracleMismatches: oracle.mismatches,
      webhookDeliveriesPerSec: deliveries.deliveriesPerSec,
      webhookRawSignedPostsPerSec: deliveries.rawSignedPostsPerSec,
      backfill: { ...backfill, drainSecondsAfterLive: round(drainAfterBackfillMs / 1000) },
      ...(baseline.phase === undefined ? {} : { withoutDefinitions: baseline.phase }),
      withDefinitions: {
        ...phaseSummary(loaded),
        statements: statementTime(loaded.before, loaded.after),
      },
      // What the worker had left when the loaded phase ended (marked, unread, memberships to project).
      backlogAfterLoad,
      ...(traitsLiveSeconds === null ? {} : { traitsLiveSeconds }),
      audiencesLiveSeconds: round(audiencesLiveSeconds),
      freshness: { ...freshness, audience: PROBE_KEY, event: PROBE_EVENT },
      preview,
      oracle,
      deliveries,
      audiences: Object.fromEntries(
        AUDIENCES.map((a) => [
          a.key,
          `${a.definition}${a.includeAnonymous === true ? ' (include anonymous)' : ''}`,
        ]),
      ),
      computedTraits: options.w7 === undefined ? 'defined by W8: the same as W7 (TRAITS)' : "W7's",
      clients: ctx.settings.clients,
      durationS: ctx.settings.ingest.durationMs / 1000,
      unmeasuredW1First: options.warmUp && options.w7 === undefined,
    };
  } finally {
    admin.close();
  }
}

/** Every trait and audience of the loaded phase, parsed, in evaluation order (a cycle throws). */
function parseComputations(): Computation[] {
  const out: Computation[] = [];
  for (const [key, text] of Object.entries(TRAITS)) {
    const parsed = parseComputedTrait(text);
    if (!parsed.ok) throw new Error(`W8 trait ${key}: ${parsed.error.message}`);
    out.push({ kind: 'computed_trait', key, level: 'USERS', definition: parsed.definition });
  }
  for (const a of AUDIENCES) {
    const parsed = parseAudience(a.definition);
    if (!parsed.ok) throw new Error(`W8 audience ${a.key}: ${parsed.error.message}`);
    out.push({
      kind: 'audience',
      key: a.key,
      level: 'USERS',
      definition: parsed.definition,
      includeAnonymous: a.includeAnonymous === true,
    });
  }
  const order = evaluationOrder(out);
  if ('cycle' in order) throw new Error(`W8 audiences refer to each other: ${order.cycle.join(' → ')}`);
  return order.order;
}

async function createAudience(admin: ApiClient, a: AudienceSpec): Promise<void> {
  const answer = await admin.graphql<{
    createAudience: { ok: boolean; errors: { code: string; message: string }[] };
  }>(CREATE, {
    input: {
      key: a.key,
      definition: a.definition,
      includeAnonymous: a.includeAnonymous === true,
      description: 'bench W8',
    },
  });
  if (!answer.createAudience.ok)
    throw new Error(`createAudience ${a.key}: ${JSON.stringify(answer.createAudience.errors)}`);
}

/**
 * Creates BACKFILL_KEY over the space's whole history and times it from the mutation until LIVE: profiles/s
 * (what the backfill walks, each evaluated with every computation of the space, since an audience may refer
 * to any of them) and events/s over the space's history.
 */
async function timeBackfill(ctx: RunContext, admin: ApiClient) {
  const spec = AUDIENCES[0] as AudienceSpec;
  const { rows } = await ctx.stack.postgres.pool.query<{
    events: number;
    matching: number;
    profiles: number;
  }>(ctx.stack.postgres.bench.get('computed/space-history'), [ctx.main.space, ORDER]);
  const history = rows[0] ?? { events: 0, matching: 0, profiles: 0 };
  const computations = (await definedKeys(admin, 'computedTraits')).length + 1;
  ctx.log(
    `W8: creating ${spec.key} (${spec.definition}) over ${history.profiles} profiles, ${history.events} events, ${history.matching} matching, ${computations} computations`,
  );
  const t0 = performance.now();
  await createAudience(admin, spec);
  await waitLive(ctx, admin, [spec.key], 50, 'audiences');
  const seconds = (performance.now() - t0) / 1000;
  return {
    seconds: round(seconds),
    profiles: history.profiles,
    profilesPerSec: round(history.profiles / seconds),
    historyEvents: history.events,
    historyEventsPerSec: round(history.events / seconds),
    matchingEvents: history.matching,
    // The computations each profile is evaluated with: the space's computed traits and this audience.
    computationsEvaluated: computations,
    definition: spec.definition,
  };
}

/**
 * Each draft of PREVIEWS previewed once, one after another, with no load running: seconds per call. The
 * first draft is BACKFILL_KEY's definition, and its size is compared with the live audience's.
 */
async function timePreviews(ctx: RunContext) {
  const client = new ApiClient(
    ctx.stack.api.url,
    { writeKey: ctx.main.writeKey, token: ctx.main.token },
    1,
    PREVIEW_TIMEOUT_MS,
  );
  try {
    ctx.log(`W8: ${PREVIEWS.length} previews over the whole space`);
    const calls: { definition: string; seconds: number; size: number | null }[] = [];
    for (const definition of PREVIEWS) {
      const t0 = performance.now();
      const answer = await client.graphql<{
        previewAudience: { ok: boolean; size: number | null; errors: { code: string; message: string }[] };
      }>(PREVIEW, { input: { definition, sample: 10 } });
      const seconds = (performance.now() - t0) / 1000;
      if (!answer.previewAudience.ok)
        throw new Error(`previewAudience ${definition}: ${JSON.stringify(answer.previewAudience.errors)}`);
      calls.push({ definition, seconds: round(seconds), size: answer.previewAudience.size });
    }
    const live = await client.graphql<{ audience: { size: number } | null }>(SIZE, { key: BACKFILL_KEY });
    const seconds = calls.map((c) => c.seconds);
    return {
      p50Seconds: round(percentile(seconds, 50)),
      // Nearest rank: with 5 calls, the slowest.
      p95Seconds: round(percentile(seconds, 95)),
      calls,
      liveSizeOfSameDefinition: live.audience?.size ?? null,
      previewMatchesLiveSize: live.audience?.size === calls[0]?.size,
    };
  } finally {
    client.close();
  }
}

/**
 * Once ingestion has stopped and the worker drained: the memberships of ORACLE_PROFILES seeded profiles in
 * every audience (and their computed values) against evaluateSubject over inputs read through GraphQL, not
 * the worker's SQL: events (Profile.events, every page), custom traits (Profile.traits) and identifiers
 * (Profile.identifiers). Stored values are read from computed_values with expires_at, then the clock is
 * taken; as in W7, values whose expires_at has passed are swept with the worker's mark-expired.sql and read
 * again, so that every stored value must equal the evaluation at that clock.
 */
async function oracleCheck(ctx: RunContext, admin: ApiClient, computations: Computation[]) {
  const t0 = performance.now();
  const traitKeys = (await definedKeys(admin, 'computedTraits')).sort();
  const audienceKeys = (await definedKeys(admin, 'audiences')).sort();
  const ours = computations.map((c) => c.key);
  if (stringifyJson([...traitKeys, ...audienceKeys].sort()) !== stringifyJson([...ours].sort()))
    throw new Error('W8 oracle check: the space holds other definitions than W8 evaluates');

  const rng = new Random(SEED + 85);
  const picked = new Set<number>();
  const want = Math.min(ORACLE_PROFILES, ctx.users.count);
  while (picked.size < want) picked.add(rng.int(ctx.users.count));
  const seeded = [...picked].map((i) => ctx.users.profileId(i));
  ctx.log(`W8: oracle check, reading the events, traits and identifiers of ${seeded.length} profiles`);

  const inputs = new Map<string, SubjectInput>();
  let pages = 0;
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < seeded.length) {
      const id = seeded[next++] as string;
      const input: SubjectInput = { events: [], traits: {}, identifiers: [], members: [] };
      let after: string | null = null;
      let live = id;
      for (;;) {
        const page: InputPage = await ctx.client.graphql<InputPage>(INPUT_PAGE, {
          id,
          after,
          first: after === null,
        });
        pages += 1;
        const profile = page.profileById;
        if (profile === null) throw new Error(`W8 oracle check: no profile ${id}`);
        live = profile.id;
        if (profile.traits !== undefined) input.traits = profile.traits;
        if (profile.identifiers !== undefined)
          input.identifiers = profile.identifiers.map((i) => `${i.type}:${i.value}`);
        for (const e of profile.events.nodes) input.events.push(languageEvent(e));
        if (!profile.events.pageInfo.hasNextPage) break;
        after = profile.events.pageInfo.endCursor;
      }
      inputs.set(live, input);
    }
  };
  await Promise.all(Array.from({ length: READERS }, () => reader()));

  const ids = [...inputs.keys()];
  const { stored, now, sweeps } = await storedAtRest(ctx, ids, 'W8 oracle check');
  const byKey = new Map(stored.map((r) => [`${r.subject_id}\u0000${r.trait_key}`, r.value]));
  const mismatches: { profileId: string; key: string; stored: unknown; oracle: unknown }[] = [];
  const traitMismatches: typeof mismatches = [];
  const members: Record<string, number> = Object.fromEntries(AUDIENCES.map((a) => [a.key, 0]));
  let eventsRead = 0;
  for (const id of ids) {
    const input = inputs.get(id) as SubjectInput;
    eventsRead += input.events.length;
    const evaluated = evaluateSubject(computations, input, now);
    for (const c of computations) {
      const key = `${id}\u0000${c.key}`;
      const expected = evaluated.values.get(c.key);
      if (c.kind === 'audience') {
        const member = byKey.get(key) === true;
        if (member) members[c.key] = (members[c.key] ?? 0) + 1;
        if (member !== (expected === true))
          mismatches.push({ profileId: id, key: c.key, stored: member, oracle: expected });
      } else {
        const found = byKey.has(key) ? byKey.get(key) : emptyValue(c.definition.reducer);
        if (stringifyJson(found ?? null) !== stringifyJson(expected ?? null))
          traitMismatches.push({ profileId: id, key: c.key, stored: found, oracle: expected });
      }
    }
  }
  const shown = [...mismatches.slice(0, 5), ...traitMismatches.slice(0, 5)];
  for (const m of shown) ctx.log(`W8: oracle MISMATCH ${JSON.stringify(m)}`);
  return {
    mismatches: mismatches.length,
    traitMismatches: traitMismatches.length,
    ...(shown.length === 0 ? {} : { firstMismatches: shown }),
    profiles: ids.length,
    memberships: ids.length * AUDIENCES.length,
    // Members found per audience in the sample, so that an audience nobody is in shows.
    membersInSample: members,
    traitValues: ids.length * (computations.length - AUDIENCES.length),
    eventsRead,
    pages,
    clock: now.toISOString(),
    sweeps,
    seconds: round((performance.now() - t0) / 1000),
  };
}
