// Profile, account and history reads, mapped to domain types at this boundary (STYLE.md §6). Every
// method that takes a list of ids answers for all of them in one round trip, for the DataLoaders.
import neo4j from 'neo4j-driver';
import type { Graph, Row } from '../graph/index.ts';
import type { Identifier } from '../identity/index.ts';
import { parseIdentifierKey } from '../identity/identifiers.ts';
import type { EventStore, PageQuery, StoredEvent } from '../events/index.ts';
import { TRAIT_PROPERTY_PREFIX, type TraitMeta } from '../identity/traits.ts';
import type { Position } from './cursors.ts';
import { parseJson } from '../json.ts';

export interface ProfileMetadataView {
  firstEventAt: Date | null;
  lastEventAt: Date | null;
  firstSeenAt: Date | null;
  lastSeenAt: Date | null;
}

export interface ProfileView {
  id: string;
  createdAt: Date;
  updatedAt: Date;
  traits: Record<string, unknown>;
  traitsMeta: Record<string, TraitMeta>;
  metadata: ProfileMetadataView;
}

export interface ProfileIdentifierView extends Identifier {
  firstSeen: Date;
  addedAt: Date;
  messageId: string | null;
}

export interface AccountView {
  groupId: string;
  traits: Record<string, unknown>;
  createdAt: Date;
  memberCount: number;
}

export interface MergeView {
  profileId: string;
  at: Date;
  messageId: string;
  reason: string;
  identifiers: Identifier[];
}

export interface ViolationView {
  code: string;
  message: string;
  identifier: Identifier;
  messageId: string;
  timestamp: Date;
}

/** An event as reads show it: the event store's row (docs/adr/0018-event-store.md). */
export type EventView = StoredEvent;

/** An account with what the Profile API shows of it (traits' provenance, last write). */
export interface AccountStateView extends AccountView {
  traitsMeta: Record<string, TraitMeta>;
  updatedAt: Date;
}

/** One page of a history: the event store's page query (size plus one, order, filters, cursor). */
export type EventQuery = PageQuery;

/** A profile and its identifiers' keys (`type:value`): how its events are found in the event store. */
export interface ProfileKeys {
  profileId: string;
  keys: string[];
}

export interface ProfileFilter {
  identifierType: string | null;
  traitKey: string | null;
  traitExists: boolean | null;
  traitEquals: unknown;
  traitPrefix: string | null;
  seenAfter: Date | null;
  seenBefore: Date | null;
}

export const PROFILE_QUERIES = [
  'profiles/find-profile-by-identifier',
  'profiles/load-profiles',
  'profiles/load-identifiers',
  'profiles/load-accounts',
  'profiles/load-merges',
  'profiles/search-profiles',
  'profiles/find-account',
  'profiles/load-members',
  'profiles/find-account-state',
] as const;

export class ProfilesRepository {
  constructor(
    private readonly graph: Graph,
    private readonly events: EventStore,
  ) {}

  async findByIdentifierKey(space: string, key: string): Promise<ProfileView | null> {
    const [row] = await this.graph.readOne('profiles/find-profile-by-identifier', { space, key });
    return row === undefined ? null : rowToProfile(row);
  }

  /** Profiles by id, keyed by the id asked for; a merged-away id maps to its survivor. */
  async loadProfiles(space: string, ids: readonly string[]): Promise<Map<string, ProfileView>> {
    const rows = await this.graph.readOne('profiles/load-profiles', { space, ids });
    return new Map(rows.map((r) => [String(r.requestedId), rowToProfile(r)]));
  }

  /** The traits of the space's live profiles holding any of `keys`, by profile id. */
  async traitHolders(space: string, keys: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const properties = keys.map((k) => TRAIT_PROPERTY_PREFIX + k);
    const rows = await this.graph.readOne('profiles/find-trait-holders', { space, properties });
    return new Map(rows.map((r) => [String(r.id), parseJsonObject(r.traits) ?? {}]));
  }

  async loadIdentifiers(ids: readonly string[]): Promise<Map<string, ProfileIdentifierView[]>> {
    return this.perProfile('profiles/load-identifiers', { ids }, 'identifiers', (i) => ({
      type: String(i.type),
      value: String(i.value),
      firstSeen: new Date(Number(i.firstSeen)),
      addedAt: new Date(Number(i.addedAt)),
      messageId: typeof i.messageId === 'string' ? i.messageId : null,
    }));
  }

  async loadAccounts(ids: readonly string[]): Promise<Map<string, AccountView[]>> {
    return this.perProfile('profiles/load-accounts', { ids }, 'accounts', rowToAccount);
  }

  async loadMerges(ids: readonly string[]): Promise<Map<string, MergeView[]>> {
    return this.perProfile('profiles/load-merges', { ids }, 'merges', (m) => ({
      profileId: String(m.profileId),
      at: new Date(Number(m.at)),
      messageId: String(m.messageId),
      reason: String(m.reason ?? ''),
      identifiers: (Array.isArray(m.identifiers) ? m.identifiers : [])
        .map((k) => parseIdentifierKey(String(k)))
        .filter((k): k is Identifier => k !== null),
    }));
  }

  /** The newest events of each profile's history that recorded violations, flattened per violation. */
  async loadViolations(
    space: string,
    profiles: ProfileKeys[],
    first: number,
  ): Promise<Map<string, ViolationView[]>> {
    const found = await this.events.violations(space, profiles, first);
    const out = new Map<string, ViolationView[]>();
    for (const [profileId, events] of found) {
      out.set(
        profileId,
        events.flatMap((e) =>
          (e.violations as Row[]).map((v) => {
            const identifier = (v.identifier ?? {}) as Row;
            return {
              code: String(v.code),
              message: String(v.message),
              identifier: { type: String(identifier.type), value: String(identifier.value) },
              messageId: e.messageId,
              timestamp: e.timestamp,
            };
          }),
        ),
      );
    }
    return out;
  }

  /** One page of each profile's history (PostgreSQL), found through the identifiers it holds. */
  async loadEvents(space: string, profiles: ProfileKeys[], q: EventQuery): Promise<Map<string, EventView[]>> {
    const pages = await this.events.pages(space, profiles, q);
    return new Map([...pages].map(([profileId, events]) => [profileId, events]));
  }

  async searchProfiles(space: string, filter: ProfileFilter, fetch: number, after: Position | null) {
    const rows = await this.graph.readOne('profiles/search-profiles', {
      space,
      first: neo4j.int(fetch),
      identifierType: filter.identifierType,
      traitProp: filter.traitKey === null ? null : `trait.${filter.traitKey}`,
      traitExists: filter.traitExists,
      traitEquals: filter.traitEquals ?? null,
      traitPrefix: filter.traitPrefix,
      seenAfter: filter.seenAfter?.getTime() ?? null,
      seenBefore: filter.seenBefore?.getTime() ?? null,
      afterCreated: after?.time ?? null,
      afterId: after?.id ?? null,
    });
    return rows.map(rowToProfile);
  }

  async findAccount(space: string, groupId: string): Promise<AccountView | null> {
    const [row] = await this.graph.readOne('profiles/find-account', { space, groupId });
    return row === undefined ? null : rowToAccount(row);
  }

  async loadMembers(
    space: string,
    groupIds: readonly string[],
    fetch: number,
    after: Position | null,
  ): Promise<Map<string, ProfileView[]>> {
    const rows = await this.graph.readOne('profiles/load-members', {
      space,
      groupIds,
      first: neo4j.int(fetch),
      afterCreated: after?.time ?? null,
      afterId: after?.id ?? null,
    });
    return new Map(
      rows.map((r) => [
        String(r.groupId),
        (Array.isArray(r.members) ? (r.members as Row[]) : []).map(rowToProfile),
      ]),
    );
  }

  async findAccountState(space: string, groupId: string): Promise<AccountStateView | null> {
    const [row] = await this.graph.readOne('profiles/find-account-state', { space, groupId });
    return row === undefined
      ? null
      : {
          ...rowToAccount(row),
          traitsMeta: (parseJsonObject(row.traitsMeta) ?? {}) as Record<string, TraitMeta>,
          updatedAt: new Date(Number(row.updatedAt ?? row.createdAt)),
        };
  }

  /** One page of an account's group calls; `q.types` is ignored (they are all `group`). */
  async loadAccountEvents(space: string, groupId: string, q: EventQuery): Promise<EventView[]> {
    return this.events.accountEvents(space, groupId, q);
  }

  /** The identifiers each event carried and resolved with, keyed by messageId. */
  async loadEventIdentifiers(
    space: string,
    messageIds: readonly string[],
  ): Promise<Map<string, Identifier[]>> {
    const keys = await this.events.eventKeys(space, messageIds);
    return new Map(
      [...keys].map(([messageId, list]) => [
        messageId,
        list.map(parseIdentifierKey).filter((i): i is Identifier => i !== null),
      ]),
    );
  }

  /** Runs a query shaped `profileId, <listField>` and maps each list's items. */
  private async perProfile<T>(
    query: string,
    params: Record<string, unknown>,
    listField: string,
    map: (row: Row) => T,
  ): Promise<Map<string, T[]>> {
    const rows = await this.graph.readOne(query, params);
    return new Map(
      rows.map((r) => {
        const list = r[listField];
        return [String(r.profileId), (Array.isArray(list) ? (list as Row[]) : []).map(map)];
      }),
    );
  }
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(Number(value));
}

function rowToProfile(row: Row): ProfileView {
  return {
    id: String(row.id),
    createdAt: new Date(Number(row.createdAt)),
    updatedAt: new Date(Number(row.updatedAt)),
    traits: parseJsonObject(row.traits) ?? {},
    traitsMeta: (parseJsonObject(row.traitsMeta) ?? {}) as Record<string, TraitMeta>,
    metadata: {
      firstEventAt: dateOrNull(row.firstEventAt),
      lastEventAt: dateOrNull(row.lastEventAt),
      firstSeenAt: dateOrNull(row.firstSeenAt),
      lastSeenAt: dateOrNull(row.lastSeenAt),
    },
  };
}

function rowToAccount(row: Row): AccountView {
  return {
    groupId: String(row.groupId),
    traits: parseJsonObject(row.traits) ?? {},
    createdAt: new Date(Number(row.createdAt)),
    memberCount: Number(row.memberCount ?? 0),
  };
}

function parseJsonObject(json: unknown): Record<string, unknown> | null {
  if (typeof json !== 'string') return null;
  const value: unknown = parseJson(json);
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
