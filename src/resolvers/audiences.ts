// Thin resolvers for audiences (SEMANTICS.md §10, docs/adr/0022-audiences.md): refusals of the service
// become `Error`s with the path of the offending input field; members and changes are keyset-paged.
import type {
  AccountResolvers,
  AudienceChangeResolvers,
  AudienceMemberResolvers,
  AudienceResolvers,
  MutationResolvers,
  ProfileResolvers,
  QueryResolvers,
  SubscriptionResolvers,
} from '../generated/graphql.ts';
import { GraphQLError } from 'graphql';
import type { AudienceChangeView, AudienceResult } from '../computed/index.ts';
import type { Context } from '../context.ts';
import { InputError } from '../errors.ts';
import { requireScope } from './auth.ts';

type Refusal = Extract<AudienceResult, { ok: false }>;

const PATHS: Record<Refusal['code'], string> = {
  INVALID_DEFINITION: 'definition',
  CYCLE: 'definition',
  INVALID_KEY: 'key',
  KEY_TAKEN: 'key',
  TOO_MANY_AUDIENCES: 'key',
  NOT_FOUND: 'key',
};

function refusal(r: Refusal) {
  const where = r.position === undefined ? '' : ` (line ${r.position.line}, column ${r.position.column})`;
  return { code: r.code, message: `${r.message}${where}`, path: ['input', PATHS[r.code]] };
}

/** Cursors are the last subject id of a page (members) or the last change's id (changes), base64url. */
const cursor = (value: string) => Buffer.from(value, 'utf8').toString('base64url');
function readCursor(after: string | null | undefined): string | null {
  if (after === null || after === undefined) return null;
  const text = Buffer.from(after, 'base64url').toString('utf8');
  if (text === '' || cursor(text) !== after)
    throw new InputError('after is not a cursor of this list', ['after']);
  return text;
}

export const audienceQueries: QueryResolvers = {
  audiences: (_, __, { space, services }) => services.computed.audiences(space),
  audience: (_, { key }, { space, services }) => services.computed.audience(space, key),
  previewAudience: async (_, { input }, { space, services }) => {
    const result = await services.computed.previewAudience(space, {
      definition: input.definition,
      level: input.level ?? null,
      includeAnonymous: input.includeAnonymous ?? false,
      sample: input.sample ?? 10,
    });
    if (result.ok) return { ok: true, size: result.size, sample: result.sample, errors: [] };
    return { ok: false, size: null, sample: [], errors: [refusal(result)] };
  },
};

export const audienceMutations: MutationResolvers = {
  createAudience: async (_, { input }, ctx) => {
    requireScope(ctx, 'admin');
    const result = await ctx.services.computed.createAudience(ctx.space, {
      key: input.key,
      definition: input.definition,
      level: input.level ?? null,
      includeAnonymous: input.includeAnonymous ?? false,
      description: input.description ?? null,
    });
    if (result.ok) return { ok: true, audience: result.audience, errors: [] };
    return { ok: false, audience: null, errors: [refusal(result)] };
  },
  updateAudience: async (_, { input }, ctx) => {
    requireScope(ctx, 'admin');
    const result = await ctx.services.computed.updateAudience(ctx.space, {
      key: input.key,
      definition: input.definition,
      includeAnonymous: input.includeAnonymous ?? null,
      description: input.description ?? null,
    });
    if (result.ok) return { ok: true, audience: result.audience, errors: [] };
    return { ok: false, audience: null, errors: [refusal(result)] };
  },
  deleteAudience: async (_, { key }, ctx) => {
    requireScope(ctx, 'admin');
    if (await ctx.services.computed.deleteAudience(ctx.space, key)) return { deleted: true, errors: [] };
    return {
      deleted: false,
      errors: [
        { code: 'NOT_FOUND', message: `this space has no audience ${JSON.stringify(key)}`, path: ['key'] },
      ],
    };
  },
};

export const Audience: AudienceResolvers = {
  size: async (a, _, { space, services }) =>
    (await services.computed.audienceSizes(space, [a.key])).get(a.key) ?? 0,
  members: async (a, { first, after }, { space, services }) => {
    const page = await services.computed.audienceMembers(space, a.key, { first, after: readCursor(after) });
    const last = page.members.at(-1);
    return {
      nodes: page.members.map((m) => ({ ...m, level: a.level })),
      pageInfo: {
        hasNextPage: page.hasNextPage,
        endCursor: last === undefined ? null : cursor(last.subjectId),
      },
    };
  },
  changes: async (a, { first, after }, { space, services }) => {
    const page = await services.computed.audienceChanges(space, a.key, { first, before: readCursor(after) });
    const last = page.changes.at(-1);
    return {
      nodes: page.changes.map((c) => ({ ...c, level: a.level })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: last === undefined ? null : cursor(last.id) },
    };
  },
};

function profileOf(m: { level: string; subjectId: string }, { loaders }: Context) {
  return m.level === 'USERS' ? loaders.profileById.load(m.subjectId) : null;
}

function accountOf(m: { level: string; subjectId: string }, { space, services }: Context) {
  return m.level === 'ACCOUNTS' ? services.profiles.account(space, m.subjectId) : null;
}

export const AudienceMember: AudienceMemberResolvers = {
  profile: (m, _, ctx) => profileOf(m, ctx),
  account: (m, _, ctx) => accountOf(m, ctx),
};

export const AudienceChange: AudienceChangeResolvers = {
  profile: async (c, _, ctx) => {
    // A profile merged away since is shown as null: its id now leads to its survivor.
    const p = await profileOf(c, ctx);
    return p !== null && p.id === c.subjectId ? p : null;
  },
  account: (c, _, ctx) => accountOf(c, ctx),
};

export const ProfileAudiences: Pick<ProfileResolvers, 'audiences'> = {
  audiences: async (p, _, { space, services }) =>
    (await services.computed.memberships(space, [p.id], 'USERS')).get(p.id) ?? [],
};

export const AccountAudiences: Pick<AccountResolvers, 'audiences'> = {
  audiences: async (a, _, { space, services }) =>
    (await services.computed.memberships(space, [a.groupId], 'ACCOUNTS')).get(a.groupId) ?? [],
};

export const audienceSubscriptions: SubscriptionResolvers = {
  audienceChanges: {
    subscribe: async (_, { key }, { space, services }) => {
      const changes = await services.computed.follow(space, key);
      if (changes === null)
        throw new GraphQLError(`this space has no audience ${JSON.stringify(key)}`, {
          extensions: { code: 'NOT_FOUND' },
        });
      return changes;
    },
    resolve: (change: AudienceChangeView) => change,
  },
};
