// Profile reads (issue #4). Lookups normalise the identifier as ingestion does (SEMANTICS.md §2); lists
// are keyset-paged with opaque cursors and capped page sizes; nested lists go through per-request loaders.
import { InputError } from '../errors.ts';
import type { EventStore } from '../events/index.ts';
import type { Graph } from '../graph/index.ts';
import { identifierKey, normaliseIdentifier, searchableValue, type Identifier } from '../identity/index.ts';
import { decodeCursor, encodeCursor, pageSize, type Position } from './cursors.ts';
import { ProfileLoaders, type ComputedValuesFetch } from './loaders.ts';
import {
  ProfilesRepository,
  type AccountStateView,
  type AccountView,
  type EventQuery,
  type EventView,
  type ProfileFilter,
  type ProfileIdentifierView,
  type ProfileView,
  type ViolationView,
} from './profiles.repository.ts';

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export interface PageArgs {
  first: number;
  after?: string | null;
}

export interface EventArgs extends PageArgs {
  types?: string[] | null;
  names?: string[] | null;
  since?: Date | null;
  until?: Date | null;
  order?: 'NEWEST_FIRST' | 'OLDEST_FIRST' | null;
}

export interface ProfileSearch {
  identifierType?: string | null;
  trait?: { key: string; equals?: unknown; exists?: boolean | null; prefix?: string | null } | null;
  seenAfter?: Date | null;
  seenBefore?: Date | null;
}

export interface TraitView {
  key: string;
  value: unknown;
  updatedAt: Date;
  messageId: string;
}

/** A trait as the Profile API pages it, with the event that last wrote it (null for older data). */
export interface TraitEntry {
  key: string;
  value: unknown;
  updatedAt: Date | null;
  messageId: string | null;
}

export interface TraitPageArgs extends PageArgs {
  /** Only these keys (the Profile API's `include`); null or empty for all. */
  keys?: string[] | null;
}

export interface IdentifierPageArgs extends PageArgs {
  /** Only these identifier types (the Profile API's `include`); null or empty for all. */
  types?: string[] | null;
}

/** The oldest and newest events of a history, by event time. */
export interface EventBounds {
  first: EventView | null;
  last: EventView | null;
}

/** A member of an account with its identifiers (the Profile API's links of an account). */
export interface LinkedUser {
  profile: ProfileView;
  identifiers: ProfileIdentifierView[];
}

const EVENT_CURSOR = 'event';
const PROFILE_CURSOR = 'profile';
const TRAIT_CURSOR = 'trait';
const IDENTIFIER_CURSOR = 'identifier';
const ACCOUNT_CURSOR = 'account';
/** Traits are paged in memory from the profile node, so a page may hold as many as Segment allows. */
export const MAX_TRAIT_PAGE_SIZE = 200;

export class ProfilesService {
  private readonly repo: ProfilesRepository;

  constructor(graph: Graph, events: EventStore) {
    this.repo = new ProfilesRepository(graph, events);
  }

  /** Fresh loaders for one request; `computedValues` reads the space's computed values (SEMANTICS.md §9). */
  loaders(space: string, computedValues: ComputedValuesFetch | null = null): ProfileLoaders {
    return new ProfileLoaders(this.repo, space, computedValues);
  }

  /**
   * The custom traits of profiles (USERS, by live id) or accounts (ACCOUNTS, by group id) as the graph
   * holds them, for audiences' trait conditions (SEMANTICS.md §10); an unknown id is left out. `{having}`
   * (profiles only): every live profile of the space holding one of those keys, in one scan.
   */
  async customTraits(
    space: string,
    level: 'USERS' | 'ACCOUNTS',
    ids: string[] | { having: string[] },
  ): Promise<Map<string, Record<string, unknown>>> {
    if (!Array.isArray(ids)) {
      if (level === 'USERS') return this.repo.traitHolders(space, ids.having);
      throw new Error('customTraits: accounts are read by group id');
    }
    if (level === 'USERS') {
      const found = await this.repo.loadProfiles(space, ids);
      return new Map([...found].map(([id, p]) => [id, p.traits]));
    }
    const accounts = await Promise.all(ids.map((id) => this.repo.findAccountState(space, id)));
    return new Map(accounts.flatMap((a, i) => (a === null ? [] : [[ids[i] as string, a.traits]])));
  }

  async profileBy(space: string, type: string, value: string): Promise<ProfileView | null> {
    const id = normaliseIdentifier(type, value);
    return id === null ? null : this.repo.findByIdentifierKey(space, identifierKey(id));
  }

  async searchProfiles(
    space: string,
    where: ProfileSearch | null,
    args: PageArgs,
  ): Promise<Connection<ProfileView>> {
    const size = pageSize(args.first);
    const after = args.after ? decodeCursor(PROFILE_CURSOR, args.after) : null;
    const trait = where?.trait ?? null;
    const filter: ProfileFilter = {
      identifierType: where?.identifierType ? where.identifierType.trim().toLowerCase() : null,
      traitKey: trait?.key ?? null,
      traitExists: trait?.exists ?? null,
      // Compared with the `trait.<key>` mirror, so written as the mirror is (digits of long integers).
      traitEquals:
        trait?.equals === undefined || trait.equals === null ? null : searchableValue(trait.equals),
      traitPrefix: trait?.prefix ?? null,
      seenAfter: where?.seenAfter ?? null,
      seenBefore: where?.seenBefore ?? null,
    };
    const rows = await this.repo.searchProfiles(space, filter, size + 1, after);
    return connection(rows, size, PROFILE_CURSOR, profilePosition);
  }

  account(space: string, groupId: string): Promise<AccountView | null> {
    return this.repo.findAccount(space, groupId);
  }

  async events(loaders: ProfileLoaders, profileId: string, args: EventArgs): Promise<Connection<EventView>> {
    const size = pageSize(args.first);
    const rows = await loaders.events.load({ profileId, query: eventQuery(args, size) });
    return connection(rows, size, EVENT_CURSOR, (e) => ({ time: e.timestamp.getTime(), id: e.messageId }));
  }

  async members(loaders: ProfileLoaders, groupId: string, args: PageArgs): Promise<Connection<ProfileView>> {
    const size = pageSize(args.first);
    const after = args.after ? decodeCursor(PROFILE_CURSOR, args.after) : null;
    const rows = await loaders.members.load({ groupId, query: { fetch: size + 1, after } });
    return connection(rows, size, PROFILE_CURSOR, profilePosition);
  }

  violations(loaders: ProfileLoaders, profileId: string, first: number): Promise<ViolationView[]> {
    return loaders.violations(pageSize(first)).load(profileId);
  }

  /** One trait with its provenance (the event that last wrote it); null when the profile lacks it. */
  trait(profile: ProfileView, key: string): TraitView | null {
    const meta = profile.traitsMeta[key];
    if (meta === undefined || meta.d || !Object.hasOwn(profile.traits, key)) return null;
    return { key, value: profile.traits[key], updatedAt: new Date(meta.t), messageId: meta.m };
  }

  /**
   * Pages over lists that GraphQL returns whole, for the Profile API (docs/adr/0008-profile-api.md). They
   * are read whole (traits live on the node; identifiers and accounts are capped per profile) and paged
   * by key here, with the same opaque cursors as every other list.
   */
  traitPage(holder: Pick<ProfileView, 'traits' | 'traitsMeta'>, args: TraitPageArgs): Connection<TraitEntry> {
    return this.traitEntryPage(this.traitEntries(holder), args);
  }

  /** A holder's traits with the event that last wrote each. */
  traitEntries(holder: Pick<ProfileView, 'traits' | 'traitsMeta'>): TraitEntry[] {
    return Object.keys(holder.traits).map((key): TraitEntry => {
      const meta = holder.traitsMeta[key];
      return {
        key,
        value: holder.traits[key],
        updatedAt: meta === undefined ? null : new Date(meta.t),
        messageId: meta?.m ?? null,
      };
    });
  }

  /** A page of trait entries (keys unique) in key order, e.g. custom and computed traits together. */
  traitEntryPage(entries: TraitEntry[], args: TraitPageArgs): Connection<TraitEntry> {
    if (!Number.isInteger(args.first) || args.first < 0 || args.first > MAX_TRAIT_PAGE_SIZE) {
      throw new InputError(`first must be between 0 and ${MAX_TRAIT_PAGE_SIZE}, got ${args.first}`, [
        'first',
      ]);
    }
    const after = args.after ? decodeCursor(TRAIT_CURSOR, args.after).id : null;
    const wanted = args.keys && args.keys.length > 0 ? new Set(args.keys) : null;
    const rows = entries
      .filter((t) => (wanted === null || wanted.has(t.key)) && (after === null || t.key > after))
      .sort((a, b) => compareText(a.key, b.key))
      .slice(0, args.first + 1);
    return connection(rows, args.first, TRAIT_CURSOR, (t) => ({ time: 0, id: t.key }));
  }

  /** A page of a profile's identifiers, ordered by their key (`type:value`). */
  async identifierPage(
    loaders: ProfileLoaders,
    profileId: string,
    args: IdentifierPageArgs,
  ): Promise<Connection<ProfileIdentifierView>> {
    return identifierPage(await loaders.identifiers.load(profileId), args);
  }

  /** An account's identifiers, paged as a profile's are: its one `group_id` (SEMANTICS.md §2). */
  accountIdentifierPage(account: AccountView, args: IdentifierPageArgs): Connection<Identifier> {
    return identifierPage([{ type: 'group_id', value: account.groupId }], args);
  }

  /** A page of the accounts a profile belongs to, ordered by group id. */
  async accountPage(
    loaders: ProfileLoaders,
    profileId: string,
    args: PageArgs,
  ): Promise<Connection<AccountView>> {
    return pageByKey(await loaders.accounts.load(profileId), args, ACCOUNT_CURSOR, (a) => a.groupId);
  }

  /** A page of an account's members, each with its identifiers (two Cypher calls for the whole page). */
  async linkedUsers(
    loaders: ProfileLoaders,
    groupId: string,
    args: PageArgs,
  ): Promise<Connection<LinkedUser>> {
    const page = await this.members(loaders, groupId, args);
    const lists = await Promise.all(page.nodes.map((p) => loaders.identifiers.load(p.id)));
    const edges = page.edges.map((edge, i) => ({
      cursor: edge.cursor,
      node: { profile: edge.node, identifiers: lists[i] ?? [] },
    }));
    return { edges, nodes: edges.map((e) => e.node), pageInfo: page.pageInfo };
  }

  /** An account with its traits' provenance and last write; null when no group call named it. */
  accountState(space: string, groupId: string): Promise<AccountStateView | null> {
    return this.repo.findAccountState(space, groupId);
  }

  /**
   * A page of an account's history: the group calls that named it. Same order, filters and cursors as a
   * profile's events (`types` does not apply: they are all `group`).
   */
  async accountEvents(space: string, groupId: string, args: EventArgs): Promise<Connection<EventView>> {
    const size = pageSize(args.first);
    const rows = await this.repo.loadAccountEvents(space, groupId, eventQuery(args, size));
    return connection(rows, size, EVENT_CURSOR, eventPosition);
  }

  /** The oldest and newest events of a profile's history (two calls, run together). */
  async eventBounds(loaders: ProfileLoaders, profileId: string): Promise<EventBounds> {
    const [first, last] = await Promise.all([
      this.events(loaders, profileId, { first: 1, order: 'OLDEST_FIRST' }),
      this.events(loaders, profileId, { first: 1, order: 'NEWEST_FIRST' }),
    ]);
    return { first: first.nodes[0] ?? null, last: last.nodes[0] ?? null };
  }

  /** The oldest and newest group calls that named an account. */
  async accountEventBounds(space: string, groupId: string): Promise<EventBounds> {
    const [first, last] = await Promise.all([
      this.accountEvents(space, groupId, { first: 1, order: 'OLDEST_FIRST' }),
      this.accountEvents(space, groupId, { first: 1, order: 'NEWEST_FIRST' }),
    ]);
    return { first: first.nodes[0] ?? null, last: last.nodes[0] ?? null };
  }

  /** The identifiers each event carried and resolved with, keyed by messageId (one Cypher call). */
  eventIdentifiers(space: string, messageIds: readonly string[]): Promise<Map<string, Identifier[]>> {
    return messageIds.length === 0
      ? Promise.resolve(new Map())
      : this.repo.loadEventIdentifiers(space, messageIds);
  }
}

function identifierPage<T extends Identifier>(items: T[], args: IdentifierPageArgs): Connection<T> {
  const types =
    args.types && args.types.length > 0 ? new Set(args.types.map((t) => t.trim().toLowerCase())) : null;
  return pageByKey(
    items.filter((i) => types === null || types.has(i.type)),
    args,
    IDENTIFIER_CURSOR,
    identifierKey,
  );
}

/** A page of a list held in memory, ordered by a unique text key that the cursor carries. */
function pageByKey<T>(items: T[], args: PageArgs, kind: string, keyOf: (item: T) => string): Connection<T> {
  const size = pageSize(args.first);
  const after = args.after ? decodeCursor(kind, args.after).id : null;
  const rows = items
    .filter((item) => after === null || keyOf(item) > after)
    .sort((a, b) => compareText(keyOf(a), keyOf(b)))
    .slice(0, size + 1);
  return connection(rows, size, kind, (item) => ({ time: 0, id: keyOf(item) }));
}

/** Code-unit order, the same for sorting a page and for comparing with a cursor's key. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function eventPosition(e: EventView): Position {
  return { time: e.timestamp.getTime(), id: e.messageId };
}

function eventQuery(args: EventArgs, size: number): EventQuery {
  return {
    fetch: size + 1,
    newestFirst: (args.order ?? 'NEWEST_FIRST') === 'NEWEST_FIRST',
    types: args.types && args.types.length > 0 ? [...args.types] : null,
    names: args.names && args.names.length > 0 ? [...args.names] : null,
    since: args.since ?? null,
    until: args.until ?? null,
    after: args.after ? decodeCursor(EVENT_CURSOR, args.after) : null,
  };
}

function profilePosition(p: ProfileView): Position {
  return { time: p.createdAt.getTime(), id: p.id };
}

function connection<T>(
  rows: T[],
  size: number,
  kind: string,
  position: (item: T) => Position,
): Connection<T> {
  const nodes = rows.slice(0, size);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(kind, position(node)), node }));
  return {
    edges,
    nodes,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
