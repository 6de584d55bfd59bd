// Thin resolvers for deletion and suppression requests (SEMANTICS.md §12, docs/adr/0027): creating needs
// the admin scope, reading the read scope. Requests are keyset-paged by (createdAt in microseconds, id).
import type { MutationResolvers, QueryResolvers, RegulationResolvers } from '../generated/graphql.ts';
import { InputError } from '../errors.ts';
import { requireScope } from './auth.ts';

const encode = (value: string) => Buffer.from(value, 'utf8').toString('base64url');
function decode(after: string | null | undefined): { createdMicros: string; id: string } | null {
  if (after === null || after === undefined) return null;
  const text = Buffer.from(after, 'base64url').toString('utf8');
  const match = /^(\d+):(reg_[0-9a-f]+)$/.exec(text);
  if (match === null || encode(text) !== after)
    throw new InputError('after is not a cursor of this list', ['after']);
  return { createdMicros: String(match[1]), id: String(match[2]) };
}

export const regulationQueries: QueryResolvers = {
  regulation: (_, { id }, ctx) => {
    requireScope(ctx, 'read');
    return ctx.services.privacy.regulation(ctx.space, id);
  },
  regulations: async (_, { first, after }, ctx) => {
    requireScope(ctx, 'read');
    const page = await ctx.services.privacy.regulations(ctx.space, first, decode(after));
    const last = page.regulations.at(-1);
    return {
      nodes: page.regulations,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        endCursor: last === undefined ? null : encode(`${last.createdMicros}:${last.id}`),
      },
    };
  },
};

export const regulationMutations: MutationResolvers = {
  createRegulation: async (_, { input }, ctx) => {
    requireScope(ctx, 'admin');
    const result = await ctx.services.privacy.request(ctx.space, input.type, input.subject);
    if (!result.ok) return { ok: false, regulation: null, errors: [result.error] };
    ctx.loaders.clearAll();
    return { ok: true, regulation: result.regulation, errors: [] };
  },
};

export const Regulation: RegulationResolvers = {
  subject: (regulation) => regulation.subjectKey,
};
