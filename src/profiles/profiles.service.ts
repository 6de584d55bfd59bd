// Profile reads (issue #4). Lookups normalise the identifier as ingestion does (SEMANTICS.md §2); lists
// are keyset-paged with opaque cursors and capped page sizes; nested lists go through per-request loaders.
import type { Graph } from '../graph/index.ts';
import { identifierKey, normaliseIdentifier } from '../identity/index.ts';
import { decodeCursor, encodeCursor, pageSize, type Position } from './cursors.ts';
import { ProfileLoaders } from './loaders.ts';
import {
  ProfilesRepository,
  type AccountView,
  type EventView,
  type ProfileFilter,
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

const EVENT_CURSOR = 'event';
const PROFILE_CURSOR = 'profile';

export class ProfilesService {
  private readonly repo: ProfilesRepository;

  constructor(graph: Graph) {
    this.repo = new ProfilesRepository(graph);
  }

  /** Fresh loaders for one request. */
  loaders(space: string): ProfileLoaders {
    return new ProfileLoaders(this.repo, space);
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
      traitEquals: trait?.equals ?? null,
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
    const rows = await loaders.events.load({
      profileId,
      query: {
        fetch: size + 1,
        newestFirst: (args.order ?? 'NEWEST_FIRST') === 'NEWEST_FIRST',
        types: args.types && args.types.length > 0 ? [...args.types] : null,
        names: args.names && args.names.length > 0 ? [...args.names] : null,
        since: args.since ?? null,
        until: args.until ?? null,
        after: args.after ? decodeCursor(EVENT_CURSOR, args.after) : null,
      },
    });
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
