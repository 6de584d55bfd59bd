// W5 (profile page lookups: closed loop, open loop at half its closed-loop capacity, raw baseline) and W6
// (lookups at 200 req/s while ingestion runs at half of W1's rate).
import { LookupBaseline } from '../baseline.ts';
import { ApiClient } from '../client.ts';
import { closedLoop, openLoop, percentile, perSecond, prebuild, round } from '../measure.ts';
import { Random } from '../random.ts';
import { SEED, type RunContext } from '../settings.ts';
import { IngestStream, ingestAtRate, ratedBodies } from './ingest.ts';

/** The open-loop lookup rate of W6. */
export const LOOKUP_RATE = 200;
/** Distinct request bodies a lookup loop cycles through (built before it starts). */
const LOOKUP_BODIES = 4_096;

/** A profile page: identifiers, traits, the 20 latest events, accounts. */
export const PROFILE_PAGE = `query ProfilePage($type: String!, $value: String!) {
  profile(by: { type: $type, value: $value }) {
    id
    identifiers { type value }
    traits
    events(first: 20) { nodes { messageId type event name timestamp properties } }
    accounts { groupId traits }
  }
}`;

interface PageAnswer {
  profile: { id: string } | null;
}

/** Profile pages of random load users, their request bodies built now; the op cycles through them. */
export function lookupOp(ctx: RunContext, rng: Random) {
  const pages = prebuild(LOOKUP_BODIES, () => {
    const value = ctx.users.userId(rng.int(ctx.loadUsers));
    return { value, body: ApiClient.graphqlRequest(PROFILE_PAGE, { type: 'user_id', value }) };
  });
  let next = 0;
  return async (): Promise<number> => {
    const page = pages[next++ % pages.length] as (typeof pages)[number];
    const data = await ctx.client.graphqlBody<PageAnswer>(page.body);
    if (data.profile === null) throw new Error(`no profile for user_id ${page.value}`);
    return 1;
  };
}

export async function runW5(ctx: RunContext) {
  const { clients, lookups } = ctx.settings;
  ctx.log(`W5: closed loop, ${clients} clients, ${lookups.durationMs / 1000} s`);
  const closed = await closedLoop({
    clients,
    ...lookups,
    maxOps: 10_000_000,
    op: lookupOp(ctx, new Random(SEED + 20)),
  });
  const requestsPerSec = perSecond(closed);
  // Half the measured capacity (issue 12), at least 1 req/s.
  const openRate = Math.max(1, Math.round(requestsPerSec / 2));
  ctx.log(`W5: open loop at ${openRate} req/s (half of the closed loop's ${Math.round(requestsPerSec)})`);
  const open = await openLoop({
    rate: openRate,
    ...lookups,
    maxInFlight: 256,
    op: lookupOp(ctx, new Random(SEED + 21)),
  });
  ctx.log('W5: raw baseline (the same Cypher and SQL through the bare driver and pool)');
  const baseline = new LookupBaseline(
    ctx.stack.driver,
    ctx.stack.project,
    ctx.stack.postgres,
    ctx.main.space,
  );
  const rng = new Random(SEED + 22);
  const raw = await closedLoop({
    clients,
    ...lookups,
    maxOps: 10_000_000,
    op: () => baseline.lookup(`user_id:${ctx.users.userId(rng.int(ctx.loadUsers))}`),
  });
  const baselineRequestsPerSec = perSecond(raw);
  return {
    requestsPerSec: round(requestsPerSec),
    closedP50Ms: round(percentile(closed.latencies, 50)),
    closedP99Ms: round(percentile(closed.latencies, 99)),
    p50Ms: round(percentile(open.latencies, 50)),
    p99Ms: round(percentile(open.latencies, 99)),
    openRate,
    openLate: open.late,
    baselineRequestsPerSec: round(baselineRequestsPerSec),
    ratio: round(requestsPerSec / baselineRequestsPerSec),
    clients,
    errors: closed.errors + open.errors,
    baselineErrors: raw.errors,
    ...((closed.firstError ?? open.firstError ?? raw.firstError)
      ? { firstError: closed.firstError ?? open.firstError ?? raw.firstError }
      : {}),
    durationS: lookups.durationMs / 1000,
  };
}

export async function runW6(ctx: RunContext, w1EventsPerSec: number, basis: string) {
  const phase = ctx.settings.mixed;
  const rate = w1EventsPerSec / 2;
  ctx.log(
    `W6: lookups at ${LOOKUP_RATE} req/s while ingesting ${Math.round(rate)} events/s, ${phase.durationMs / 1000} s`,
  );
  const bodies = ratedBodies(new IngestStream(ctx, 'w6', SEED + 30), rate, phase);
  const lookup = lookupOp(ctx, new Random(SEED + 31));
  ctx.client.reopen();
  const [lookups, ingest] = await Promise.all([
    openLoop({ rate: LOOKUP_RATE, ...phase, maxInFlight: 256, op: lookup }),
    ingestAtRate(ctx, bodies, rate, phase),
  ]);
  return {
    p50Ms: round(percentile(lookups.latencies, 50)),
    p99Ms: round(percentile(lookups.latencies, 99)),
    eventsPerSec: round(perSecond(ingest)),
    targetEventsPerSec: round(rate),
    rateBasis: basis,
    ingestP99Ms: round(percentile(ingest.latencies, 99)),
    lookupRate: LOOKUP_RATE,
    lateLookups: lookups.late,
    lateBatches: ingest.late,
    errors: lookups.errors + ingest.errors,
    ...((lookups.firstError ?? ingest.firstError)
      ? { firstError: lookups.firstError ?? ingest.firstError }
      : {}),
    durationS: phase.durationMs / 1000,
  };
}
