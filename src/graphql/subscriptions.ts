// GraphQL subscriptions over graphql-ws (the `graphql-transport-ws` protocol) on the HTTP server's
// `/graphql` path (docs/adr/0022-audiences.md). The same rules as HTTP GraphQL: an access token of a space
// (connection parameter `authorization: "Bearer <token>"`), the same document limits (tokens, depth,
// aliases, directives) and cost limit (docs/adr/0006, docs/adr/0015); only subscription operations (queries
// and mutations go over HTTP).
import type { Server } from 'node:http';
import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GraphQLConfig } from '../config.ts';
import type { Context } from '../context.ts';
import type { Logger } from '../log.ts';
import type { Principal } from '../spaces/index.ts';
import type { Services } from '../services.ts';
import { introspectionPrice, operationCost } from './cost.ts';
import { documentLimitRules, exceedsTokens, refusal } from './limits.ts';

export interface SubscriptionDeps {
  server: Server;
  typeDefs: string;
  resolvers: unknown;
  services: Services;
  graphql: GraphQLConfig;
  logger: Logger;
}

/** The secret a client sent: `authorization: "Bearer <token>"` (or `Authorization`) in the connection params. */
function secretOf(params: Record<string, unknown> | undefined): string | null {
  const header = params?.authorization ?? params?.Authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

function check(
  schema: GraphQLSchema,
  config: GraphQLConfig,
  query: string,
  variables: Record<string, unknown>,
  operationName: string | undefined,
): { document: DocumentNode; operation: OperationDefinitionNode } | readonly GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: config.maxTokens });
  } catch (error) {
    if (exceedsTokens(query, config.maxTokens))
      return [
        refusal(
          'TOO_MANY_TOKENS',
          `The document has more than ${config.maxTokens} tokens: ask for fewer fields, or pass values as variables.`,
        ),
      ];
    return [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
  }
  const errors = validate(schema, document, [...specifiedRules, ...documentLimitRules(config)]);
  if (errors.length > 0) return errors;
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const operation =
    operationName === undefined ? operations[0] : operations.find((o) => o.name?.value === operationName);
  if (operation === undefined || (operationName === undefined && operations.length > 1))
    return [
      new GraphQLError('Name the operation to run (operationName).', { extensions: { code: 'BAD_REQUEST' } }),
    ];
  if (operation.operation !== 'subscription')
    return [
      refusal(
        'OPERATION_NOT_SUPPORTED',
        'Only subscriptions go over graphql-ws: send queries and mutations over HTTP (POST /graphql).',
      ),
    ];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const cost = operationCost(schema, operation, (name) => fragments.get(name), variables, {
    introspection: introspectionPrice(schema),
  });
  if (cost > config.maxCost)
    return [
      refusal(
        'QUERY_TOO_COSTLY',
        `Operation cost ${cost} exceeds the limit of ${config.maxCost}: select fewer nested lists or JSON fields.`,
      ),
    ];
  return { document, operation };
}

/** Serves subscriptions on `deps.server`'s `/graphql`; returns how to stop (closing every socket). */
export function startSubscriptions(deps: SubscriptionDeps): { close(): Promise<void> } {
  const schema = makeExecutableSchema({ typeDefs: deps.typeDefs, resolvers: deps.resolvers as never });
  const wss = new WebSocketServer({ server: deps.server, path: '/graphql' });
  const principals = new WeakMap<object, Principal>();
  const disposable = useServer<Record<string, unknown>>(
    {
      schema,
      onConnect: async (ctx) => {
        const principal = await deps.services.spaces.authenticate(secretOf(ctx.connectionParams));
        // Refused: graphql-ws closes the socket with 4403 Forbidden.
        if (principal === null || principal.kind !== 'token') return false;
        principals.set(ctx, principal);
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        const principal = principals.get(ctx);
        if (principal === undefined)
          return [new GraphQLError('Not authenticated', { extensions: { code: 'UNAUTHENTICATED' } })];
        const variables = payload.variables ?? {};
        const checked = check(
          schema,
          deps.graphql,
          payload.query,
          variables,
          payload.operationName ?? undefined,
        );
        if (!('document' in checked)) return checked;
        const space = principal.space;
        const context: Context = {
          space,
          scopes: principal.scopes,
          services: deps.services,
          loaders: deps.services.profiles.loaders(space, (ids, level) =>
            deps.services.computed.values(space, ids, level),
          ),
        };
        return {
          schema,
          document: checked.document,
          variableValues: variables,
          operationName: payload.operationName ?? undefined,
          contextValue: context,
        };
      },
      onError: (_ctx, _id, _payload, errors) => {
        for (const error of errors)
          if (error.extensions?.code === undefined) deps.logger.error('subscription failed', { error });
      },
    },
    wss,
  );
  return {
    close: async () => {
      for (const socket of wss.clients) socket.close(1001, 'Server stopping');
      await disposable.dispose();
    },
  };
}
