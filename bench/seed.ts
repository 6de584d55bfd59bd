// Seeds histories with raw writes (thousands of rows per statement) instead of through the API, because a
// million events through the resolution path would take most of the run. What is written is what ingestion
// leaves for the same calls: in Neo4j the identity graph only (the statements under bench/cypher/seed/
// mirror cypher/identity/*.cypher node by node and property by property), in PostgreSQL the events' rows,
// dedupe claims, event_identifiers and identity_map rows through the service's own sql/events/ files where
// one fits, and the change log's entries for them (events, identifiers, an identify's traits; not accounts
// or memberships) as the API's commits would log them (docs/adr/0011-benchmarks.md).
import type { Driver } from 'neo4j-driver';
import { EventFactory, sqlEventRow, sqlLinkRows, type PlannedEvent, type Population } from './events.ts';
import { Random } from './random.ts';
import { BENCH_DATABASE, sqlTransaction, type BenchPostgres, type BenchQueries } from './stack.ts';

export interface SeedSpec {
  space: string;
  pop: Population;
  /** Users have a user id, an anonymous id and an email (from an identify); visitors only an anonymous id. */
  kind: 'user' | 'visitor';
  /** Index of the first profile of `pop` to seed. */
  from: number;
  count: number;
  /** Events over all these profiles (at least one each), spread unevenly; or `each` per profile. */
  events: { total: number } | { each: number };
  /** Event times lie in [start, start + spanMs). */
  start: Date;
  spanMs: number;
  seed: number;
}

export interface SeedResult {
  profiles: number;
  events: number;
  ms: number;
}

/** Rows per transaction. */
const EVENTS_PER_TX = 5_000;
/**
 * Events per change-log entry: about what one API commit logs, so that a Profiles Sync stretch (a batch of
 * entries, grown to whole commits) reads tens of thousands of events rather than the whole history.
 */
const EVENTS_PER_ENTRY = 50;
const PROFILES_PER_TX = 1_000;
/** Concurrent seeding transactions; they touch disjoint profiles, so they never wait on each other. */
const WRITERS = 2;

interface AccountState {
  createdAt: number;
  updatedAt: number;
  traits: Record<string, unknown>;
  stamp: { t: number; r: number; m: string };
}

export class Seeder {
  private readonly accounts = new Map<string, AccountState>();
  private members: { profileId: string; groupId: string; since: string }[] = [];
  private readonly memberKeys = new Set<string>();

  /**
   * `events` is where the events go: the run's PostgreSQL. Without it only the identity graph is seeded
   * (bench/profile-batch.ts, which profiles the graph's side alone).
   */
  constructor(
    private readonly driver: Driver,
    private readonly queries: BenchQueries,
    private readonly events?: Pick<BenchPostgres, 'pool' | 'project' | 'bench'>,
  ) {}

  async seed(spec: SeedSpec): Promise<SeedResult> {
    const started = performance.now();
    const rng = new Random(spec.seed);
    const factory = new EventFactory(rng, `seed${spec.seed.toString(36)}`);
    const counts = eventCounts(rng, spec);
    let profileRows: Record<string, unknown>[] = [];
    let pairs: Record<string, unknown>[] = [];
    let events: History[] = [];
    let written = 0;
    // Received up to ~0.5 s after the last event time; the months' partitions are made before any row.
    await this.ensureMonths(spec.start, new Date(spec.start.getTime() + spec.spanMs + 1_000));

    const flush = async (): Promise<void> => {
      if (profileRows.length === 0) return;
      const profiles = profileRows;
      const evidencePairs = pairs;
      const rows = events;
      profileRows = [];
      pairs = [];
      events = [];
      await Promise.all([
        (async () => {
          await this.write('seed/create-profiles', { space: spec.space, profiles });
          if (evidencePairs.length > 0)
            await this.write('seed/create-evidence', { space: spec.space, pairs: evidencePairs });
        })(),
        this.storeEvents(spec.space, profiles, rows),
      ]);
      written += rows.length;
    };

    for (let k = 0; k < spec.count; k++) {
      const i = spec.from + k;
      const n = counts[k] as number;
      const history = this.history(factory, rng, spec, i, n);
      profileRows.push(profileRow(spec, i, history));
      pairs.push(...evidence(history));
      events.push(...history);
      if (profileRows.length >= PROFILES_PER_TX || events.length >= EVENTS_PER_TX * WRITERS * 2)
        await flush();
    }
    await flush();
    return { profiles: spec.count, events: written, ms: performance.now() - started };
  }

  /** The events' rows, claims and event_identifiers, and the profiles' identity_map rows. */
  private async storeEvents(
    space: string,
    profiles: Record<string, unknown>[],
    history: History[],
  ): Promise<void> {
    const sink = this.events;
    if (sink === undefined) return;
    const chunks: History[][] = [];
    for (let i = 0; i < history.length; i += EVENTS_PER_TX) chunks.push(history.slice(i, i + EVENTS_PER_TX));
    await parallel(chunks, WRITERS, (chunk) =>
      sqlTransaction(sink.pool, async (client) => {
        const rows = chunk.map((h) => sqlEventRow(h.planned, h.receivedAt));
        const links = chunk.flatMap((h) => sqlLinkRows(h.planned, h.receivedAt));
        await client.query(sink.project.get('events/store-events'), [space, JSON.stringify(rows)]);
        // store-fast-effects writes the event_identifiers rows and the change log's entries for the events
        // (and an identify's traits), as a commit of the API would, so that Profiles Sync (W10) has the
        // history to sync.
        await client.query(sink.project.get('events/store-fast-effects'), [
          space,
          JSON.stringify(links),
          JSON.stringify(historyChanges(chunk)),
        ]);
      }),
    );
    const mapped = profiles.flatMap((p) =>
      (p.identifiers as { key: string }[]).map((id) => ({ key: id.key, profile_id: p.id })),
    );
    await sqlTransaction(sink.pool, async (client) => {
      await client.query(sink.bench.get('seed/map-identifiers'), [space, JSON.stringify(mapped)]);
      // The identifiers joining their profiles, for Profiles Sync (user_identifiers, id_graph_updates).
      const joined = mapped.map((m) => ({ key: m.key, profileId: m.profile_id }));
      const entries = [];
      for (let i = 0; i < joined.length; i += EVENTS_PER_ENTRY)
        entries.push({ kind: 'identifiers', payload: joined.slice(i, i + EVENTS_PER_ENTRY) });
      await client.query(sink.project.get('events/store-fast-effects'), [
        space,
        '[]',
        JSON.stringify(entries),
      ]);
    });
  }

  /** The event tables' monthly partitions for [from, to] (sql/events/ensure-partitions.sql). */
  private async ensureMonths(from: Date, to: Date): Promise<void> {
    if (this.events === undefined) return;
    const month = (d: Date) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-01`;
    await this.events.pool.query(this.events.project.get('events/ensure-partitions'), [
      month(from),
      month(to),
    ]);
  }

  /** Writes the accounts and memberships gathered by every `seed` call so far. */
  async finish(space: string): Promise<void> {
    const accounts = [...this.accounts].map(([groupId, a]) => ({
      groupId,
      createdAt: new Date(a.createdAt).toISOString(),
      updatedAt: new Date(a.updatedAt).toISOString(),
      traits: JSON.stringify(a.traits),
      traitsMeta: JSON.stringify(Object.fromEntries(Object.keys(a.traits).map((key) => [key, a.stamp]))),
    }));
    for (let i = 0; i < accounts.length; i += PROFILES_PER_TX) {
      await this.write('seed/create-accounts', { space, accounts: accounts.slice(i, i + PROFILES_PER_TX) });
    }
    for (let i = 0; i < this.members.length; i += EVENTS_PER_TX) {
      await this.write('seed/link-members', { space, members: this.members.slice(i, i + EVENTS_PER_TX) });
    }
    this.accounts.clear();
    this.memberKeys.clear();
    this.members = [];
  }

  private history(factory: EventFactory, rng: Random, spec: SeedSpec, i: number, n: number): History[] {
    const times = Array.from(
      { length: n },
      () => spec.start.getTime() + Math.floor(rng.next() * spec.spanMs),
    );
    times.sort((a, b) => a - b);
    return times.map((t, k) => {
      const at = new Date(t);
      const planned =
        spec.kind === 'visitor'
          ? factory.visitorCall(spec.pop, i, at)
          : factory.userCall(spec.pop, i, at, k === 0 ? 'identify' : undefined);
      const receivedAt = new Date(t + 20 + rng.int(400));
      if (planned.event.type === 'group' && planned.event.groupId !== undefined) {
        this.noteGroup(planned, receivedAt);
      }
      return { planned, receivedAt };
    });
  }

  private noteGroup(p: PlannedEvent, receivedAt: Date): void {
    const groupId = p.event.groupId as string;
    const stamp = { t: p.event.timestamp.getTime(), r: receivedAt.getTime(), m: p.event.messageId };
    const r = receivedAt.getTime();
    const current = this.accounts.get(groupId);
    if (current === undefined) {
      this.accounts.set(groupId, { createdAt: r, updatedAt: r, traits: p.event.traits ?? {}, stamp });
    } else {
      current.createdAt = Math.min(current.createdAt, r);
      current.updatedAt = Math.max(current.updatedAt, r);
      if (stamp.t > current.stamp.t) {
        current.stamp = stamp;
        current.traits = p.event.traits ?? {};
      }
    }
    // Histories are generated oldest first, so the first group call of a profile sets `since`.
    const member = `${p.profileId}\u0000${groupId}`;
    if (!this.memberKeys.has(member)) {
      this.memberKeys.add(member);
      this.members.push({ profileId: p.profileId, groupId, since: p.event.timestamp.toISOString() });
    }
  }

  private async write(query: string, params: Record<string, unknown>): Promise<void> {
    const session = this.driver.session({ database: BENCH_DATABASE });
    try {
      await session.executeWrite((tx) => tx.run(this.queries.get(query), params));
    } finally {
      await session.close();
    }
  }
}

interface History {
  planned: PlannedEvent;
  receivedAt: Date;
}

function eventCounts(rng: Random, spec: SeedSpec): number[] {
  if ('each' in spec.events)
    return Array.from({ length: spec.count }, () => (spec.events as { each: number }).each);
  const total = Math.max(spec.events.total, spec.count);
  const avg = total / spec.count;
  const counts = Array.from({ length: spec.count }, () => 1 + rng.int(Math.max(1, Math.round(2 * avg - 1))));
  let sum = counts.reduce((a, b) => a + b, 0);
  for (let guard = 0; sum !== total && guard < 10 * total; guard++) {
    const j = rng.int(spec.count);
    if (sum < total) {
      counts[j] = (counts[j] as number) + 1;
      sum += 1;
    } else if ((counts[j] as number) > 1) {
      counts[j] = (counts[j] as number) - 1;
      sum -= 1;
    }
  }
  return counts;
}

/** The profile as update-profiles leaves it after this history: traits by last write wins, activity times. */
function profileRow(spec: SeedSpec, i: number, history: History[]): Record<string, unknown> {
  const first = history[0] as History;
  const last = history[history.length - 1] as History;
  const iso = (d: Date) => d.toISOString();
  let traits: Record<string, unknown> = {};
  let traitsMeta: Record<string, unknown> = {};
  for (const h of history) {
    if (h.planned.event.type !== 'identify' || h.planned.event.traits === undefined) continue;
    const stamp = {
      t: h.planned.event.timestamp.getTime(),
      r: h.receivedAt.getTime(),
      m: h.planned.event.messageId,
    };
    traits = { ...traits, ...h.planned.event.traits };
    traitsMeta = {
      ...traitsMeta,
      ...Object.fromEntries(Object.keys(h.planned.event.traits).map((k) => [k, stamp])),
    };
  }
  const traitProps = Object.fromEntries(
    Object.entries(traits).map(([k, v]) => [`trait.${k}`, typeof v === 'object' ? JSON.stringify(v) : v]),
  );
  // Each identifier: first and last event carrying it; it joined the profile with the first.
  const spans = new Map<string, { type: string; value: string; first: History; last: History }>();
  for (const h of history) {
    for (const id of h.planned.identifiers) {
      const span = spans.get(id.key);
      if (span === undefined) spans.set(id.key, { type: id.type, value: id.value, first: h, last: h });
      else span.last = h;
    }
  }
  const identifiers = [...spans].map(([key, s]) => ({
    key,
    type: s.type,
    value: s.value,
    firstSeen: iso(s.first.planned.event.timestamp),
    since: iso(s.first.planned.event.timestamp),
    by: s.first.planned.event.messageId,
  }));
  return {
    id: spec.pop.profileId(i),
    createdAt: iso(first.receivedAt),
    updatedAt: iso(last.receivedAt),
    firstEventAt: iso(first.planned.event.timestamp),
    lastEventAt: iso(last.planned.event.timestamp),
    firstSeenAt: iso(first.receivedAt),
    lastSeenAt: iso(last.receivedAt),
    traits: JSON.stringify(traits),
    traitsMeta: JSON.stringify(traitsMeta),
    traitProps,
    identifiers,
  };
}

/** SEEN_WITH: a star from each event's first (most trusted) identifier to its others, the first event's. */
function evidence(history: History[]): Record<string, unknown>[] {
  const pairs = new Map<string, { from: string; to: string; messageId: string; firstAt: Date }>();
  for (const h of history) {
    const [anchor, ...others] = h.planned.identifiers;
    if (anchor === undefined) continue;
    for (const other of others) {
      const id = `${anchor.key}\u0000${other.key}`;
      if (!pairs.has(id))
        pairs.set(id, {
          from: anchor.key,
          to: other.key,
          messageId: h.planned.event.messageId,
          firstAt: h.planned.event.timestamp,
        });
    }
  }
  return [...pairs.values()].map((p) => ({ ...p, firstAt: p.firstAt.toISOString() }));
}

/** Runs `work` over `items` with at most `width` at a time. */
/**
 * The change-log entries an API commit would write for these events: `events` (message id, type, a track's
 * name, profile, identifier keys) and `traits` for identifies that carry traits (their traits as the
 * change; the seeded profiles' final traits are the last identify's anyway), EVENTS_PER_ENTRY a entry.
 */
function historyChanges(chunk: History[]): { kind: string; payload: unknown[] }[] {
  const entries: { kind: string; payload: unknown[] }[] = [];
  for (let i = 0; i < chunk.length; i += EVENTS_PER_ENTRY) {
    const part = chunk.slice(i, i + EVENTS_PER_ENTRY).map((h) => h.planned);
    entries.push({
      kind: 'events',
      payload: part.map((p) => ({
        messageId: p.event.messageId,
        type: p.event.type,
        event: p.event.event,
        profileId: p.profileId,
        keys: p.identifiers.map((id) => id.key),
      })),
    });
    const traits = part
      .filter((p) => p.event.type === 'identify' && p.event.traits !== undefined)
      .map((p) => ({ profileId: p.profileId, changed: p.event.traits }));
    if (traits.length > 0) entries.push({ kind: 'traits', payload: traits });
  }
  return entries;
}

export async function parallel<T>(
  items: T[],
  width: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}
