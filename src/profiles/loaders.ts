// Per-request DataLoaders (STYLE.md §10): every nested list of a profile or account is fetched for all
// the profiles of a response in one round trip per store, so a query's cost in calls does not grow with the
// number of profiles or items it returns. Built in the GraphQL context factory, never shared.
import DataLoader from 'dataloader';
import type {
  AccountView,
  EventQuery,
  EventView,
  MergeView,
  ProfileIdentifierView,
  ProfileKeys,
  ProfileView,
  ProfilesRepository,
  ViolationView,
} from './profiles.repository.ts';
import type { Position } from './cursors.ts';
import { identifierKey } from '../identity/identifiers.ts';
import type { ProfileComputedValue } from '../computed/index.ts';

/** Profiles' computed values (ComputedTraitsService.values for the request's space), by profile id. */
/** Computed values of profiles (USERS) or accounts by group id (ACCOUNTS), by subject. */
export type ComputedValuesFetch = (
  ids: string[],
  level: 'USERS' | 'ACCOUNTS',
) => Promise<Map<string, ProfileComputedValue[]>>;

/**
 * Dispatch a batch only once the current round of promise jobs has settled (the next macrotask), so keys
 * requested by resolvers that resolve a tick apart still share one Cypher call.
 */
const BATCH_OPTIONS = { batchScheduleFn: (dispatch: () => void) => setImmediate(dispatch) };

export interface MembersQuery {
  fetch: number;
  after: Position | null;
}

export class ProfileLoaders {
  readonly profileById: DataLoader<string, ProfileView | null>;
  readonly identifiers: DataLoader<string, ProfileIdentifierView[]>;
  readonly accounts: DataLoader<string, AccountView[]>;
  readonly merges: DataLoader<string, MergeView[]>;
  private readonly violationsByLimit = new Map<number, DataLoader<string, ViolationView[]>>();
  readonly events: DataLoader<{ profileId: string; query: EventQuery }, EventView[], string>;
  readonly members: DataLoader<{ groupId: string; query: MembersQuery }, ProfileView[], string>;
  /** Every live computed trait with each profile's value (SEMANTICS.md §9), one PostgreSQL read per batch. */
  readonly computedValues: DataLoader<string, ProfileComputedValue[]>;
  /** Every live account-level computed trait with each account's value, by group id. */
  readonly accountComputedValues: DataLoader<string, ProfileComputedValue[]>;

  constructor(
    private readonly repo: ProfilesRepository,
    private readonly space: string,
    computedValues: ComputedValuesFetch | null = null,
  ) {
    this.profileById = new DataLoader(async (ids) => {
      const found = await repo.loadProfiles(space, ids);
      return ids.map((id) => found.get(id) ?? null);
    }, BATCH_OPTIONS);
    this.identifiers = listLoader((ids) => repo.loadIdentifiers(ids));
    this.accounts = listLoader((ids) => repo.loadAccounts(ids));
    this.merges = listLoader((ids) => repo.loadMerges(ids));
    this.events = groupedLoader(
      (k) => k.profileId,
      (k) => k.query,
      async (ids, query) => repo.loadEvents(space, await this.keysOf(ids), query),
    );
    this.computedValues = listLoader((ids) => {
      if (computedValues === null) throw new Error('these loaders were built without computed values');
      return computedValues([...ids], 'USERS');
    });
    this.accountComputedValues = listLoader((ids) => {
      if (computedValues === null) throw new Error('these loaders were built without computed values');
      return computedValues([...ids], 'ACCOUNTS');
    });
    this.members = groupedLoader(
      (k) => k.groupId,
      (k) => k.query,
      (ids, query) => repo.loadMembers(space, ids, query.fetch, query.after),
    );
  }

  violations(first: number): DataLoader<string, ViolationView[]> {
    let loader = this.violationsByLimit.get(first);
    if (loader === undefined) {
      loader = listLoader(async (ids) => this.repo.loadViolations(this.space, await this.keysOf(ids), first));
      this.violationsByLimit.set(first, loader);
    }
    return loader;
  }

  /** The profiles' identifier keys, through the identifiers loader (one graph call for all lists). */
  private async keysOf(ids: readonly string[]): Promise<ProfileKeys[]> {
    const lists = await this.identifiers.loadMany(ids);
    return ids.map((profileId, i) => {
      const list = lists[i];
      if (list instanceof Error) throw list;
      return { profileId, keys: (list ?? []).map(identifierKey) };
    });
  }

  /** Forgets everything loaded so far, e.g. after a mutation in the same request merged profiles. */
  clearAll(): void {
    for (const loader of [
      this.profileById,
      this.identifiers,
      this.accounts,
      this.merges,
      this.computedValues,
      this.accountComputedValues,
      ...this.violationsByLimit.values(),
    ]) {
      loader.clearAll();
    }
    this.events.clearAll();
    this.members.clearAll();
  }
}

function listLoader<T>(load: (ids: readonly string[]) => Promise<Map<string, T[]>>): DataLoader<string, T[]> {
  return new DataLoader(async (ids) => {
    const found = await load(ids);
    return ids.map((id) => found.get(id) ?? []);
  }, BATCH_OPTIONS);
}

/**
 * A loader for lists that take arguments: keys with the same arguments are answered by one query for all
 * their ids; different arguments in one request cost one query each.
 */
function groupedLoader<K, Q, T>(
  idOf: (key: K) => string,
  queryOf: (key: K) => Q,
  load: (ids: string[], query: Q) => Promise<Map<string, T[]>>,
): DataLoader<K, T[], string> {
  return new DataLoader<K, T[], string>(
    async (keys) => {
      const groups = new Map<string, { query: Q; ids: string[] }>();
      for (const key of keys) {
        const signature = JSON.stringify(queryOf(key));
        const group = groups.get(signature) ?? { query: queryOf(key), ids: [] };
        group.ids.push(idOf(key));
        groups.set(signature, group);
      }
      const results = new Map<string, Map<string, T[]>>();
      await Promise.all(
        [...groups].map(async ([signature, g]) => results.set(signature, await load(g.ids, g.query))),
      );
      return keys.map((key) => results.get(JSON.stringify(queryOf(key)))?.get(idOf(key)) ?? []);
    },
    { ...BATCH_OPTIONS, cacheKeyFn: (key) => `${idOf(key)}|${JSON.stringify(queryOf(key))}` },
  );
}
