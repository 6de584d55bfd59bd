// Thin resolvers for webhook destinations (SEMANTICS.md §10 "Activation", docs/adr/0023): refusals of the
// service become `Error`s with the path of the offending input field; deliveries are keyset-paged.
import type {
  DeliveryResolvers,
  DestinationMode,
  DestinationResolvers,
  MutationResolvers,
  QueryResolvers,
} from '../generated/graphql.ts';
import type { DeliveryMode, DestinationRefusal } from '../destinations/index.ts';
import { InputError } from '../errors.ts';
import { requireScope } from './auth.ts';

const toMode = (m: DestinationMode): DeliveryMode =>
  m === 'IDENTIFY' ? 'identify' : m === 'TRACK' ? 'track' : 'group';
const fromMode = (m: DeliveryMode): DestinationMode =>
  m === 'identify' ? 'IDENTIFY' : m === 'track' ? 'TRACK' : 'GROUP';

function refusal(r: DestinationRefusal) {
  return { code: r.code, message: r.message, path: r.path };
}

/** Cursors are the last delivery's id, base64url. */
const cursor = (value: string) => Buffer.from(value, 'utf8').toString('base64url');
function readCursor(after: string | null | undefined): string | null {
  if (after === null || after === undefined) return null;
  const text = Buffer.from(after, 'base64url').toString('utf8');
  if (text === '' || cursor(text) !== after)
    throw new InputError('after is not a cursor of this list', ['after']);
  return text;
}

export const destinationQueries: QueryResolvers = {
  destinations: (_, __, { space, services }) => services.destinations.list(space),
  destination: (_, { id }, { space, services }) => services.destinations.get(space, id),
};

export const destinationMutations: MutationResolvers = {
  createWebhookDestination: async (_, { input }, ctx) => {
    requireScope(ctx, 'admin');
    const result = await ctx.services.destinations.createWebhook(ctx.space, {
      name: input.name,
      url: input.url,
      audiences: input.audiences ?? [],
      computedTraits: input.computedTraits ?? [],
      modes: (input.modes ?? ['IDENTIFY', 'TRACK']).map(toMode),
    });
    if (result.ok)
      return {
        ok: true,
        destination: result.destination,
        signingSecret: result.signingSecret,
        initialSyncQueued: result.queued,
        errors: [],
      };
    return {
      ok: false,
      destination: null,
      signingSecret: null,
      initialSyncQueued: null,
      errors: [refusal(result)],
    };
  },
  updateDestination: async (_, { input }, ctx) => {
    requireScope(ctx, 'admin');
    const result = await ctx.services.destinations.update(ctx.space, {
      id: input.id,
      name: input.name ?? null,
      url: input.url ?? null,
      audiences: input.audiences ?? null,
      computedTraits: input.computedTraits ?? null,
      modes: input.modes === null || input.modes === undefined ? null : input.modes.map(toMode),
    });
    if (result.ok) return { ok: true, destination: result.destination, errors: [] };
    return { ok: false, destination: null, errors: [refusal(result)] };
  },
  deleteDestination: async (_, { id }, ctx) => {
    requireScope(ctx, 'admin');
    if (await ctx.services.destinations.delete(ctx.space, id)) return { deleted: true, errors: [] };
    return {
      deleted: false,
      errors: [
        { code: 'NOT_FOUND', message: `this space has no destination ${JSON.stringify(id)}`, path: ['id'] },
      ],
    };
  },
  replayDelivery: async (_, { id }, ctx) => {
    requireScope(ctx, 'admin');
    if (await ctx.services.destinations.replayDelivery(ctx.space, id)) return { replayed: 1, errors: [] };
    return {
      replayed: 0,
      errors: [
        {
          code: 'NOT_FOUND',
          message: `this space has no given-up (FAILED) delivery ${JSON.stringify(id)}`,
          path: ['id'],
        },
      ],
    };
  },
  replayFailedDeliveries: async (_, { destinationId }, ctx) => {
    requireScope(ctx, 'admin');
    const replayed = await ctx.services.destinations.replayFailed(ctx.space, destinationId);
    if (replayed !== null) return { replayed, errors: [] };
    return {
      replayed: 0,
      errors: [
        {
          code: 'NOT_FOUND',
          message: `this space has no destination ${JSON.stringify(destinationId)}`,
          path: ['destinationId'],
        },
      ],
    };
  },
};

export const Destination: DestinationResolvers = {
  modes: (d) => d.modes.map(fromMode),
  counts: async (d, _, { space, services }) => {
    const c = await services.destinations.counts(space, d.id);
    return { pending: c.PENDING, delivered: c.DELIVERED, failed: c.FAILED };
  },
  deliveries: async (d, { status, first, after }, { space, services }) => {
    const page = await services.destinations.deliveries(space, d.id, {
      status: status ?? null,
      first,
      before: readCursor(after),
    });
    const last = page.deliveries.at(-1);
    return {
      nodes: page.deliveries,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: last === undefined ? null : cursor(last.id) },
    };
  },
};

export const Delivery: DeliveryResolvers = {
  mode: (d) => fromMode(d.mode),
  computationClass: (d) => d.computation,
  computationKey: (d) => d.traitKey,
  value: (d) => (d.computation === 'audience' ? d.newValue === true : d.newValue),
  initialSync: (d) => d.changeId === null,
  nextAttemptAt: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null),
};
