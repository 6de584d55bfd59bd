// W4: merges. Throughput of events that each merge two existing profiles; the cost of the 100th merge
// into one profile against the first; and the cost of merging profiles with long histories against short
// ones. Profiles and histories are seeded raw (seed.ts: identity in Neo4j, events in PostgreSQL); merges
// always go through the tracking API, their request bodies built before they are timed.
import { ApiClient } from '../client.ts';
import { Population } from '../events.ts';
import { closedLoop, fromPool, median, percentile, perSecond, prebuild, round } from '../measure.ts';
import { Random } from '../random.ts';
import { Seeder } from '../seed.ts';
import { BATCH_EVENTS, SEED, type RunContext } from '../settings.ts';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.UTC(2025, 0, 1);
/** Survivors' histories lie before their partners', so the survivor is the older profile (SEMANTICS.md §4). */
const SURVIVOR_TIMES = { start: new Date(T0), spanMs: DAY };
const PARTNER_TIMES = { start: new Date(T0 + 2 * DAY), spanMs: DAY };
/** Merges built up before the measured one in the "late" case. */
const PRIOR_MERGES = 99;
/** Unmeasured merges of each case before the timed ones. */
const WARMUP_SAMPLES = 2;

/** An identify carrying a survivor's user id and a partner's anonymous id: one merge. */
function mergeCall(
  rng: Random,
  messageId: string,
  survivor: Population,
  s: number,
  partner: Population,
  p: number,
) {
  return {
    type: 'identify',
    messageId,
    userId: survivor.userId(s),
    anonymousId: partner.anonymousId(p),
    traits: { plan: rng.pick(['free', 'pro']) },
    timestamp: new Date().toISOString(),
    context: { library: { name: 'analytics-node', version: '3.1.0' } },
  };
}

export async function runW4(ctx: RunContext) {
  const { driver, bench, api, postgres } = ctx.stack;
  const rng = new Random(SEED + 40);
  let serial = 0;
  const messageId = () => `w4-${(serial++).toString(36)}`;

  // Throughput: pairs (a user, an anonymous visitor), 15 merges per request, closed loop.
  const { pairs, warmupMs, durationMs } = ctx.settings.merges;
  const rateKeys = await api.createSpace('merge-rate');
  const users = new Population('mr', pairs);
  const visitors = new Population('mv', pairs);
  const seeder = new Seeder(driver, bench, postgres);
  ctx.log(`W4: seeding ${pairs} merge pairs`);
  await seeder.seed({
    space: rateKeys.space,
    pop: users,
    kind: 'user',
    from: 0,
    count: pairs,
    events: { total: pairs * 3 },
    ...SURVIVOR_TIMES,
    seed: SEED + 41,
  });
  await seeder.seed({
    space: rateKeys.space,
    pop: visitors,
    kind: 'visitor',
    from: 0,
    count: pairs,
    events: { total: pairs * 2 },
    ...PARTNER_TIMES,
    seed: SEED + 42,
  });
  await seeder.finish(rateKeys.space);
  const rateClient = new ApiClient(api.url, rateKeys, ctx.settings.clients);
  // Every request's body is built before the loop: BATCH_EVENTS pairs each, in order.
  const requests = prebuild(Math.ceil(pairs / BATCH_EVENTS), (r) => {
    const batch = [];
    for (let k = r * BATCH_EVENTS; k < Math.min(pairs, (r + 1) * BATCH_EVENTS); k++)
      batch.push(mergeCall(rng, messageId(), users, k, visitors, k));
    return { body: Buffer.from(JSON.stringify({ batch })), merges: batch.length };
  });
  let nextPair = 0;
  ctx.log(`W4: merges, ${ctx.settings.clients} clients, ${BATCH_EVENTS} merges per request`);
  const loop = await closedLoop({
    clients: ctx.settings.clients,
    warmupMs,
    durationMs,
    maxOps: requests.length,
    op: fromPool(requests, async ({ body, merges }) => {
      nextPair += merges;
      await rateClient.postBatch(body);
      return merges;
    }),
  });
  const tombstones = await count(
    ctx,
    'MATCH (p:Profile {space: $space}) WHERE p.merged = true RETURN count(p) AS n',
    {
      space: rateKeys.space,
    },
  );

  // Single merges, timed one at a time, alternating the cases so that drift affects both alike.
  const costKeys = await api.createSpace('merge-cost', { anonymousLimit: 1000 });
  const costClient = new ApiClient(api.url, costKeys, 4);
  const samples = ctx.settings.mergeSamples + WARMUP_SAMPLES;
  const early = { survivors: new Population('es', samples), partners: new Population('ep', samples) };
  const late = {
    survivors: new Population('ls', samples),
    partners: new Population('lp', samples * (PRIOR_MERGES + 1)),
  };
  const big = ctx.settings.bigHistory;
  const histories = ctx.settings.historySamples;
  const small = {
    survivors: new Population('ss', histories + WARMUP_SAMPLES),
    partners: new Population('sp', histories + WARMUP_SAMPLES),
  };
  const large = { survivors: new Population('bs', histories), partners: new Population('bp', histories) };
  ctx.log(`W4: seeding merge cases (${histories} x 2 profiles with ${big} events each)`);
  const seeds: Parameters<Seeder['seed']>[0][] = [
    { pop: early.survivors, kind: 'user', count: samples, events: { each: 10 }, ...SURVIVOR_TIMES },
    { pop: early.partners, kind: 'visitor', count: samples, events: { each: 10 }, ...PARTNER_TIMES },
    { pop: late.survivors, kind: 'user', count: samples, events: { each: 10 }, ...SURVIVOR_TIMES },
    {
      pop: late.partners,
      kind: 'visitor',
      count: late.partners.count,
      events: { each: 3 },
      ...PARTNER_TIMES,
    },
    {
      pop: small.survivors,
      kind: 'user',
      count: small.survivors.count,
      events: { each: 10 },
      ...SURVIVOR_TIMES,
    },
    {
      pop: small.partners,
      kind: 'visitor',
      count: small.partners.count,
      events: { each: 10 },
      ...PARTNER_TIMES,
    },
    { pop: large.survivors, kind: 'user', count: histories, events: { each: big }, ...SURVIVOR_TIMES },
    { pop: large.partners, kind: 'visitor', count: histories, events: { each: big }, ...PARTNER_TIMES },
  ].map(
    (s, i) =>
      ({ ...s, space: costKeys.space, from: 0, seed: SEED + 50 + i }) as Parameters<Seeder['seed']>[0],
  );
  for (const spec of seeds) await seeder.seed(spec);
  await seeder.finish(costKeys.space);

  ctx.log(`W4: building ${PRIOR_MERGES} prior merges into each of ${samples} profiles`);
  await Promise.all(
    Array.from({ length: samples }, async (_, s) => {
      for (let k = 0; k < PRIOR_MERGES; k += BATCH_EVENTS) {
        const batch = [];
        for (let j = k; j < Math.min(PRIOR_MERGES, k + BATCH_EVENTS); j++) {
          batch.push(
            mergeCall(rng, messageId(), late.survivors, s, late.partners, s * (PRIOR_MERGES + 1) + j),
          );
        }
        await costClient.batch(batch);
      }
    }),
  );

  const timeOne = async (survivors: Population, s: number, partners: Population, p: number) => {
    const body = Buffer.from(JSON.stringify(mergeCall(rng, messageId(), survivors, s, partners, p)));
    const t0 = performance.now();
    await costClient.send('identify', body);
    return performance.now() - t0;
  };
  const times = { early: [] as number[], late: [] as number[], small: [] as number[], large: [] as number[] };
  ctx.log('W4: timing single merges');
  for (let s = 0; s < samples; s++) {
    const earlyMs = await timeOne(early.survivors, s, early.partners, s);
    const lateMs = await timeOne(late.survivors, s, late.partners, s * (PRIOR_MERGES + 1) + PRIOR_MERGES);
    if (s < WARMUP_SAMPLES) continue;
    times.early.push(earlyMs);
    times.late.push(lateMs);
  }
  for (let h = 0; h < histories + WARMUP_SAMPLES; h++) {
    const smallMs = await timeOne(small.survivors, h, small.partners, h);
    if (h < WARMUP_SAMPLES) continue;
    times.small.push(smallMs);
    times.large.push(await timeOne(large.survivors, h - WARMUP_SAMPLES, large.partners, h - WARMUP_SAMPLES));
  }
  const mergesInto = (pop: Population) =>
    count(ctx, 'UNWIND $ids AS id MATCH (:Profile {id: id})<-[r:MERGED_INTO]-() RETURN count(r) AS n', {
      ids: Array.from({ length: pop.count }, (_, s) => pop.profileId(s)),
    });
  const [lateMerges, earlyMerges, smallMerges, largeMerges] = await Promise.all([
    mergesInto(late.survivors),
    mergesInto(early.survivors),
    mergesInto(small.survivors),
    mergesInto(large.survivors),
  ]);
  rateClient.close();
  costClient.close();
  const mergesPerSec = perSecond(loop);
  return {
    mergesPerSec: round(mergesPerSec),
    p50Ms: round(percentile(loop.latencies, 50)),
    p99Ms: round(percentile(loop.latencies, 99)),
    lateToEarlyRatio: round(median(times.late) / median(times.early)),
    earlyMergeMs: round(median(times.early)),
    lateMergeMs: round(median(times.late)),
    historyRatio: round(median(times.large) / median(times.small)),
    smallHistoryMergeMs: round(median(times.small)),
    bigHistoryMergeMs: round(median(times.large)),
    historyEvents: { big, small: 10 },
    samplesPerCase: { lateEarly: ctx.settings.mergeSamples, history: histories },
    clients: ctx.settings.clients,
    mergesPerRequest: BATCH_EVENTS,
    pairs,
    // What the graph says happened, so that a figure never stands for merges that did not occur.
    checks: {
      tombstones,
      mergesRequested: nextPair,
      lateSurvivorMerges: lateMerges / samples,
      earlySurvivorMerges: earlyMerges / samples,
      historySurvivorMerges: (smallMerges + largeMerges) / (small.survivors.count + histories),
    },
    errors: loop.errors,
    ...(loop.firstError === null ? {} : { firstError: loop.firstError }),
  };
}

async function count(ctx: RunContext, query: string, params: Record<string, unknown>): Promise<number> {
  const { records } = await ctx.stack.driver.executeQuery(query, params);
  return Number(records[0]?.get('n') ?? 0);
}
