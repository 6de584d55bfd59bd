// Requests Apollo Server refuses without a code, so that maskError (src/app.ts) would show them as
// INTERNAL_SERVER_ERROR: they are the client's mistakes, and get codes of their own (docs/adr/0015-graphql-armor.md).
import { createHash } from 'node:crypto';
import type { ApolloServerPlugin, GraphQLRequest } from '@apollo/server';
import { refusal } from './limits.ts';

/**
 * - A `subscription` operation: HTTP 400 `OPERATION_NOT_SUPPORTED` before it runs. Subscriptions go over
 *   graphql-ws on the same path (src/graphql/subscriptions.ts); Apollo Server serves none over HTTP.
 * - An automatic persisted query whose `sha256Hash` is not the SHA-256 of the `query` sent with it: HTTP
 *   400 `PERSISTED_QUERY_HASH_MISMATCH` (Apollo answers "provided sha does not match query" without a
 *   code).
 * - A persisted query of a version other than 1: HTTP 400 `PERSISTED_QUERY_NOT_SUPPORTED`, Apollo's own
 *   code for "not with this server", on which clients fall back to sending the query.
 */
export function operationsPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation === 'subscription') {
            throw refusal(
              'OPERATION_NOT_SUPPORTED',
              'Subscriptions are not served over HTTP: connect with graphql-ws (the graphql-transport-ws protocol) to the same /graphql path.',
              [],
              400,
            );
          }
        },
        async didEncounterErrors({ request, errors }) {
          const code = persistedQueryProblem(request);
          if (code === undefined) return;
          // The one error Apollo reports before anything else runs; it has no code of its own.
          for (const error of errors) {
            if (error.extensions.code === undefined) Object.assign(error.extensions, { code });
          }
        },
      };
    },
  };
}

/** What is wrong with the request's persisted query, when Apollo refuses it without a code. */
function persistedQueryProblem(
  request: GraphQLRequest,
): 'PERSISTED_QUERY_HASH_MISMATCH' | 'PERSISTED_QUERY_NOT_SUPPORTED' | undefined {
  const persisted: unknown = request.extensions?.persistedQuery;
  if (typeof persisted !== 'object' || persisted === null) return undefined;
  const { version, sha256Hash } = persisted as { version?: unknown; sha256Hash?: unknown };
  if (version !== 1) return 'PERSISTED_QUERY_NOT_SUPPORTED';
  if (typeof request.query !== 'string') return undefined;
  const computed = createHash('sha256').update(request.query).digest('hex');
  return computed === sha256Hash ? undefined : 'PERSISTED_QUERY_HASH_MISMATCH';
}
