// Raw baselines, measured in the same run as the API figures they are compared with
// (docs/adr/0011-benchmarks.md). Ingest, two of them: the old design's (events as Neo4j nodes, with the
// graph changes a batch causes, through the bare driver) kept as the reference, and the new design's (the
// same events as PostgreSQL rows through the bare pg client, plus only the graph writes the batch needs).
// Neither resolves anything: the generator knows every event's profile. Lookups: the very Cypher and SQL
// files the API runs for a profile page, through the bare driver and pool, as the API's loaders send them.
// Batches are planned (parameters built) before a timed phase, as the API's request bodies are.
import neo4j, { type Driver } from 'neo4j-driver';
import { retryDelayMs } from '../src/graph/index.ts';
import { identifierKey } from '../src/identity/index.ts';
import { sqlState } from '../src/postgres/database.ts';
import { graphEventRow, sqlEventRow, sqlLinkRows, type PlannedEvent } from './events.ts';
import { BENCH_DATABASE, sqlTransaction, type BenchPostgres, type BenchQueries } from './stack.ts';

/** Attempts of a baseline write that keeps losing deadlocks, as the engine's (src/graph/graph.ts). */
const MAX_ATTEMPTS = 15;

function isDeadlock(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'Neo.TransientError.Transaction.DeadlockDetected' || sqlState(error) === '40P01';
}

/**
 * Runs a baseline's transaction again after a lost deadlock, after the engine's few milliseconds
 * (retryDelayMs): concurrent batches touch the same profiles, and a lost batch would otherwise count as
 * an error and cost the baseline its events. Counts the retries.
 */
async function retryingDeadlocks<T>(
  counter: { deadlockRetries: number },
  work: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isDeadlock(error) || attempt >= MAX_ATTEMPTS) throw error;
      counter.deadlockRetries += 1;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
    }
  }
}

/** The graph changes of some events, as the bench/cypher/baseline/ statements take them. */
interface GraphChanges {
  identifiers: Record<string, unknown>[];
  links: Record<string, unknown>[];
  profiles: Record<string, unknown>[];
  members: Record<string, unknown>[];
}

const iso = (d: Date) => d.toISOString();

function byKey<T>(key: (t: T) => string) {
  return (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/**
 * What `batch` changes in the graph, written blind: `identifiers` of each event are merged (created when
 * new; seen times moved) when `touchIdentifiers` says so, identifiers new to a profile get IDENTIFIES, every
 * profile gets its activity times (and traits with their mirror for identify calls), group calls write the
 * account and MEMBER_OF. Sorted by key, as the engine sorts, so concurrent batches lock in one order.
 */
function graphChanges(
  batch: readonly PlannedEvent[],
  now: Date,
  touchIdentifiers: (p: PlannedEvent) => readonly PlannedEvent['identifiers'][number][],
): GraphChanges {
  const identifiers = new Map<
    string,
    { key: string; type: string; value: string; first: Date; last: Date }
  >();
  const profiles = new Map<string, { id: string; lastEventAt: Date; props: Record<string, unknown> }>();
  const links: Record<string, unknown>[] = [];
  const members: { groupId: string; profileId: string; traits: string; since: string }[] = [];
  for (const p of batch) {
    const at = p.event.timestamp;
    for (const id of touchIdentifiers(p)) {
      const span = identifiers.get(id.key);
      if (span === undefined) identifiers.set(id.key, { ...id, first: at, last: at });
      else if (at > span.last) span.last = at;
    }
    if (p.added !== null)
      links.push({ key: p.added.key, profileId: p.profileId, since: iso(at), by: p.event.messageId });
    const profile = profiles.get(p.profileId) ?? { id: p.profileId, lastEventAt: at, props: {} };
    if (at > profile.lastEventAt) profile.lastEventAt = at;
    if (p.event.type === 'identify' && p.event.traits !== undefined) {
      const stamp = { t: at.getTime(), r: now.getTime(), m: p.event.messageId };
      profile.props.traits = JSON.stringify(p.event.traits);
      profile.props.traitsMeta = JSON.stringify(
        Object.fromEntries(Object.keys(p.event.traits).map((k) => [k, stamp])),
      );
      for (const [k, v] of Object.entries(p.event.traits)) profile.props[`trait.${k}`] = v;
    }
    profiles.set(p.profileId, profile);
    if (p.event.type === 'group' && p.event.groupId !== undefined) {
      members.push({
        groupId: p.event.groupId,
        profileId: p.profileId,
        traits: JSON.stringify(p.event.traits ?? {}),
        since: iso(at),
      });
    }
  }
  return {
    identifiers: [...identifiers.values()]
      .sort(byKey((i) => i.key))
      .map((i) => ({ ...i, first: iso(i.first), last: iso(i.last) })),
    links,
    profiles: [...profiles.values()]
      .sort(byKey((p) => p.id))
      .map((p) => ({ id: p.id, lastEventAt: iso(p.lastEventAt), lastSeenAt: iso(now), props: p.props })),
    members: members.sort(byKey((m) => m.groupId)),
  };
}

/** Writes the changes in one open transaction with the bench/cypher/baseline/ statements. */
async function writeGraphChanges(
  run: (query: string, params: Record<string, unknown>) => Promise<unknown>,
  c: GraphChanges,
): Promise<void> {
  if (c.identifiers.length > 0) await run('baseline/merge-identifiers', { identifiers: c.identifiers });
  if (c.links.length > 0) await run('baseline/attach-identifiers', { links: c.links });
  if (c.profiles.length > 0) await run('baseline/update-profiles', { profiles: c.profiles });
  if (c.members.length > 0) await run('baseline/link-accounts', { members: c.members });
}

export interface GraphEventsPlan {
  events: number;
  now: string;
  changes: GraphChanges;
  rows: Record<string, unknown>[];
}

/**
 * The old design's raw ingest baseline (before issue 12): per batch, one write transaction that merges
 * every identifier the events carried, links the new ones, writes the touched profiles and accounts, and
 * creates the events as nodes with their FROM edges. Kept as the reference the new design is measured
 * against.
 */
export class GraphEventsBaseline {
  /** Transactions run again after a lost deadlock. */
  deadlockRetries = 0;

  constructor(
    private readonly driver: Driver,
    private readonly queries: BenchQueries,
    private readonly space: string,
  ) {}

  /** The Event constraint and index the old design had; the service no longer creates them. */
  async prepare(): Promise<void> {
    for (const query of ['baseline/create-event-constraint', 'baseline/create-event-timestamp-index'])
      await this.driver.executeQuery(this.queries.get(query), {}, { database: BENCH_DATABASE });
    await this.driver.executeQuery('CALL db.awaitIndexes(60)', {}, { database: BENCH_DATABASE });
  }

  plan(batch: readonly PlannedEvent[], now = new Date()): GraphEventsPlan {
    return {
      events: batch.length,
      now: iso(now),
      changes: graphChanges(batch, now, (p) => p.identifiers),
      rows: batch.map((p) => graphEventRow(p, now)),
    };
  }

  /** Writes one planned batch in one transaction; resolves to the number of events written. */
  async write(plan: GraphEventsPlan): Promise<number> {
    const session = this.driver.session({ database: BENCH_DATABASE });
    try {
      await retryingDeadlocks(this, () =>
        session.executeWrite(async (tx) => {
          const run = (query: string, extra: Record<string, unknown>) =>
            tx.run(this.queries.get(query), { space: this.space, now: plan.now, ...extra });
          const c = plan.changes;
          await run('baseline/merge-identifiers', { identifiers: c.identifiers });
          if (c.links.length > 0) await run('baseline/attach-identifiers', { links: c.links });
          await run('baseline/update-profiles', { profiles: c.profiles });
          await run('baseline/create-events', { events: plan.rows });
          if (c.members.length > 0) await run('baseline/link-accounts', { members: c.members });
        }),
      );
    } finally {
      await session.close();
    }
    return plan.events;
  }
}

export interface TwoStorePlan {
  events: number;
  now: string;
  /** store-events' rows, store-fast-effects' event_identifiers rows and change-log entries, identity_map rows (JSON). */
  sql: { rows: string; links: string; changes: string; mapped: string | null };
  /** The graph writes of the events that change identity, traits or membership; null when none does. */
  graph: GraphChanges | null;
}

/** Events that change the graph: an identifier new to its profile, traits, or an account membership. */
const changesGraph = (p: PlannedEvent): boolean =>
  p.added !== null || p.event.type === 'identify' || p.event.type === 'group';

/**
 * The new design's raw ingest baseline (issue 12): per batch, one PostgreSQL transaction through the bare pg
 * client with the rows the service stores (the events in their tables with their dedupe claims, through
 * the service's own store-events.sql; their event_identifiers rows and a change-log entry through
 * store-fast-effects.sql; identity_map rows for identifiers new to a profile), then, only when some event
 * changes the graph, one Neo4j write transaction with those events' changes: the new identifiers and their
 * IDENTIFIES, the touched profiles' activity times and traits, accounts and MEMBER_OF. Events whose
 * identifiers are all on their profile already and that carry no traits or group cost the graph nothing,
 * as the fast path intends. Left out as the engine's own work: resolution and its locking reads, the
 * pending row and the second PostgreSQL transaction of the two-store commit, the AppliedBatch marker,
 * SEEN_WITH evidence.
 */
export class TwoStoreBaseline {
  /** Transactions (either store's) run again after a lost deadlock. */
  deadlockRetries = 0;

  constructor(
    private readonly driver: Driver,
    private readonly queries: BenchQueries,
    private readonly postgres: Pick<BenchPostgres, 'pool' | 'project' | 'bench'>,
    private readonly space: string,
  ) {}

  plan(batch: readonly PlannedEvent[], now = new Date()): TwoStorePlan {
    const mapped = batch.flatMap((p) =>
      p.added === null ? [] : [{ key: p.added.key, profile_id: p.profileId }],
    );
    const changes: { kind: string; payload: unknown }[] = [
      {
        kind: 'events',
        payload: batch.map((p) => ({
          messageId: p.event.messageId,
          type: p.event.type,
          profileId: p.profileId,
          keys: p.identifiers.map((id) => id.key),
        })),
      },
    ];
    if (mapped.length > 0)
      changes.push({
        kind: 'identifiers',
        payload: mapped.map((m) => ({ key: m.key, profileId: m.profile_id })),
      });
    const graphEvents = batch.filter(changesGraph);
    return {
      events: batch.length,
      now: iso(now),
      sql: {
        rows: JSON.stringify(batch.map((p) => sqlEventRow(p, now))),
        links: JSON.stringify(batch.flatMap((p) => sqlLinkRows(p, now))),
        changes: JSON.stringify(changes),
        mapped: mapped.length === 0 ? null : JSON.stringify(mapped),
      },
      graph:
        graphEvents.length === 0
          ? null
          : graphChanges(graphEvents, now, (p) => (p.added === null ? [] : [p.added])),
    };
  }

  /** Writes one planned batch: PostgreSQL first, then the graph; resolves to the number of events. */
  async write(plan: TwoStorePlan): Promise<number> {
    const { pool, project, bench } = this.postgres;
    await retryingDeadlocks(this, () =>
      sqlTransaction(pool, async (client) => {
        await client.query(project.get('events/store-events'), [this.space, plan.sql.rows]);
        await client.query(project.get('events/store-fast-effects'), [
          this.space,
          plan.sql.links,
          plan.sql.changes,
        ]);
        if (plan.sql.mapped !== null)
          await client.query(bench.get('seed/map-identifiers'), [this.space, plan.sql.mapped]);
      }),
    );
    const graph = plan.graph;
    if (graph !== null) {
      const session = this.driver.session({ database: BENCH_DATABASE });
      try {
        await session.executeWrite((tx) =>
          writeGraphChanges(
            (query, extra) => tx.run(this.queries.get(query), { space: this.space, now: plan.now, ...extra }),
            graph,
          ),
        );
      } finally {
        await session.close();
      }
    }
    return plan.events;
  }
}

/**
 * The profile page of W5 (identifiers, traits, 20 latest events, accounts) with the API's own Cypher and
 * SQL, in the API's order: the profile by identifier; then its identifiers and accounts together; then,
 * with the identifiers' keys, one page of event ids and the events by id (src/profiles/loaders.ts).
 */
export class LookupBaseline {
  constructor(
    private readonly driver: Driver,
    private readonly project: BenchQueries,
    private readonly postgres: Pick<BenchPostgres, 'pool' | 'project'>,
    private readonly space: string,
  ) {}

  /** Resolves to 1 when the profile was found (as the API answers one profile page). */
  async lookup(key: string): Promise<number> {
    const [found] = await this.read('profiles/find-profile-by-identifier', { space: this.space, key });
    const id = found?.id;
    if (typeof id !== 'string') throw new Error(`baseline lookup: no profile for ${key}`);
    const ids = [id];
    // The API's loaders fire these together, each as its own auto-commit query (graph.readOne); the
    // events wait for the identifiers, whose keys find them.
    await Promise.all([
      this.read('profiles/load-identifiers', { ids }).then((rows) => this.events(id, rows)),
      this.read('profiles/load-accounts', { ids }),
    ]);
    return 1;
  }

  private async events(profileId: string, rows: Record<string, unknown>[]): Promise<void> {
    const identifiers = (rows[0]?.identifiers ?? []) as { type: string; value: string }[];
    const { pool, project } = this.postgres;
    const page = await pool.query<{ message_id: string }>(project.get('events/load-event-pages'), [
      this.space,
      JSON.stringify([{ profile_id: profileId, keys: identifiers.map(identifierKey) }]),
      21,
      true,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
    // The API reads the page's extra row too (it tells whether a next page exists).
    await pool.query(project.get('events/load-events-by-id'), [
      this.space,
      page.rows.map((r) => r.message_id),
    ]);
  }

  private async read(query: string, params: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const session = this.driver.session({ database: BENCH_DATABASE, defaultAccessMode: neo4j.session.READ });
    try {
      const result = await session.run(this.project.get(query), params);
      return result.records.map((r) => r.toObject() as Record<string, unknown>);
    } finally {
      await session.close();
    }
  }
}
