// Raw baselines, measured in the same run as the API figures they are compared with
// (docs/adr/0011-benchmarks.md). Ingest: the graph changes a batch causes, written with the raw driver
// and no resolution (the generator knows every event's profile). Lookups: the very Cypher files the API
// runs for a profile page, through the raw driver, one read transaction each as the API's loaders do.
import neo4j, { type Driver } from 'neo4j-driver';
import { eventRow, type PlannedEvent } from './events.ts';
import type { BenchQueries } from './stack.ts';

/**
 * The database the API uses (NEO4J_DATABASE's default). Sessions name it, as the API's do: a session
 * without one first asks the server for the user's home database, a round trip the API never makes.
 */
export const BENCH_DATABASE = 'neo4j';

export class IngestBaseline {
  constructor(
    private readonly driver: Driver,
    private readonly queries: BenchQueries,
    private readonly space: string,
  ) {}

  /** Writes one batch in one transaction; resolves to the number of events written. */
  async write(batch: PlannedEvent[]): Promise<number> {
    const now = new Date();
    const params = this.params(batch, now);
    const session = this.driver.session({ database: BENCH_DATABASE });
    try {
      await session.executeWrite(async (tx) => {
        const run = (query: string, extra: Record<string, unknown>) =>
          tx.run(this.queries.get(query), { space: this.space, now: now.toISOString(), ...extra });
        await run('baseline/merge-identifiers', { identifiers: params.identifiers });
        if (params.links.length > 0) await run('baseline/attach-identifiers', { links: params.links });
        await run('baseline/update-profiles', { profiles: params.profiles });
        await run('seed/create-events', { events: params.events });
        if (params.members.length > 0) await run('baseline/link-accounts', { members: params.members });
      });
    } finally {
      await session.close();
    }
    return batch.length;
  }

  private params(batch: PlannedEvent[], now: Date) {
    const iso = (d: Date) => d.toISOString();
    const identifiers = new Map<
      string,
      { key: string; type: string; value: string; first: Date; last: Date }
    >();
    const profiles = new Map<string, { id: string; lastEventAt: Date; props: Record<string, unknown> }>();
    const links: Record<string, unknown>[] = [];
    const members: { groupId: string; profileId: string; traits: string; since: string }[] = [];
    for (const p of batch) {
      const at = p.event.timestamp;
      for (const id of p.identifiers) {
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
    const byKey =
      <T>(key: (t: T) => string) =>
      (a: T, b: T) =>
        key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
    return {
      identifiers: [...identifiers.values()]
        .sort(byKey((i) => i.key))
        .map((i) => ({ ...i, first: iso(i.first), last: iso(i.last) })),
      links,
      profiles: [...profiles.values()]
        .sort(byKey((p) => p.id))
        .map((p) => ({ id: p.id, lastEventAt: iso(p.lastEventAt), lastSeenAt: iso(now), props: p.props })),
      events: batch.map((p) => eventRow(p, now)),
      members: members.sort(byKey((m) => m.groupId)),
    };
  }
}

/** The profile page of W5 (identifiers, traits, 20 latest events, accounts) with the API's own Cypher. */
export class LookupBaseline {
  constructor(
    private readonly driver: Driver,
    private readonly project: BenchQueries,
    private readonly space: string,
  ) {}

  /** Resolves to 1 when the profile was found (as the API answers one profile page). */
  async lookup(key: string): Promise<number> {
    const [found] = await this.read('profiles/find-profile-by-identifier', { space: this.space, key });
    const id = found?.id;
    if (typeof id !== 'string') throw new Error(`baseline lookup: no profile for ${key}`);
    const ids = [id];
    // The API's loaders fire these three together, each as its own auto-commit query (graph.readOne).
    await Promise.all([
      this.read('profiles/load-identifiers', { ids }),
      this.read('profiles/load-events', {
        ids,
        first: neo4j.int(21),
        newestFirst: true,
        types: null,
        names: null,
        since: null,
        until: null,
        afterTime: null,
        afterId: null,
      }),
      this.read('profiles/load-accounts', { ids }),
    ]);
    return 1;
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
