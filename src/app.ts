// The HTTP face of the service: GraphQL at /graphql, /healthz and /readyz, on Node's own http server
// so that later routes (the Segment /v1 API) share the port without another framework.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ApolloServer, HeaderMap } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import type { Config } from './config.ts';
import type { Context } from './context.ts';
import { startSubscriptions } from './graphql/subscriptions.ts';
import { ServiceUnavailableError } from './errors.ts';
import type { Graph } from './graph/index.ts';
import type { Database } from './postgres/database.ts';
import { graphqlProtection, REFUSAL_CODES } from './graphql/index.ts';
import { presentedSecret, readBody, sendJson, type HttpRoute } from './http.ts';
import { parseJson, stringifyJson } from './json.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics/index.ts';
import { resolvers } from './resolvers/index.ts';
import type { Services } from './services.ts';

export const SCHEMA_DIR = fileURLToPath(new URL('../schema/', import.meta.url));
/** Large enough for a 500 KB Segment batch wrapped in a GraphQL request. */
const MAX_BODY_BYTES = 1024 * 1024;
/** /readyz answers within this long whatever the database does (ADR 0017). */
export const READY_TIMEOUT_MS = 1_000;
/** Codes a client may see; anything else is masked (STYLE.md §8). */
const PUBLIC_CODES = new Set([
  'VALIDATION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'NO_IDENTIFIERS',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  // Every refusal of src/graphql (SEMANTICS.md §7; docs/adr/0015-graphql-armor.md).
  ...REFUSAL_CODES,
]);

export function loadTypeDefs(dir: string = SCHEMA_DIR): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

export interface AppDeps {
  graph: Graph;
  /** The event store's database (docs/adr/0018-event-store.md); /readyz asks it too. */
  database: Database;
  services: Services;
  logger: Logger;
  /** Introspection, the landing page and the operation limits (docs/adr/0006-graphql-protection.md). */
  graphql: Config['graphql'];
  /** Further routes on the same port (the Segment tracking API, the Profile API). */
  routes?: HttpRoute[];
  /** Counts requests by route and status, and refused GraphQL operations (docs/adr/0016-metrics.md). */
  metrics?: Metrics;
}

export interface App {
  server: Server;
  apollo: ApolloServer<Context>;
  /** Marks the app ready once migrations are applied; /readyz answers 503 before. */
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

export async function createApp(deps: AppDeps): Promise<App> {
  const { logger } = deps;
  const typeDefs = loadTypeDefs();
  const apollo = new ApolloServer<Context>({
    typeDefs,
    resolvers: resolvers as never,
    // Introspection, the landing page, the limits on operations and answers, codes for refusals.
    ...graphqlProtection(deps.graphql),
    // src/server.ts owns shutdown (drain HTTP, close the driver, stop Neo4j); Apollo must not race it.
    stopOnTerminationSignals: false,
    // Stack traces go to the log (maskError), never to clients, whatever NODE_ENV says.
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => maskError(formatted, error, logger),
    // Answers write integers too long for a double with all their digits (SEMANTICS.md §8).
    stringifyResult: (result) => stringifyJson(result),
  });
  if (deps.metrics !== undefined) apollo.addPlugin(deps.metrics.graphqlPlugin());
  await apollo.start();
  let ready = false;

  const server = createServer((req, res) => {
    deps.metrics?.observeRequest(req, res, () => routeOf(req));
    handle(req, res).catch((error: unknown) => {
      if (error instanceof ServiceUnavailableError && !res.headersSent) return unavailable(req, res, error);
      logger.error('request failed', { error, url: req.url });
      if (!res.headersSent)
        sendJson(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal error' } });
      else res.end();
    });
  });

  // Subscriptions over graphql-ws on the same port and path, with the same tokens and limits.
  const subscriptions = startSubscriptions({
    server,
    typeDefs,
    resolvers,
    services: deps.services,
    graphql: deps.graphql,
    logger,
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') return readiness(res);
    if (url.pathname === '/graphql') return graphql(req, res, url);
    const route = deps.routes?.find((r) => r.matches(url, req));
    if (route !== undefined) return route.handle(req, res, url);
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `No route for ${url.pathname}` } });
  }

  /** The pattern of the route `handle` picks, for metrics: a closed set, never the raw path. */
  function routeOf(req: IncomingMessage): string {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (['/healthz', '/readyz', '/graphql'].includes(url.pathname)) return url.pathname;
    return deps.routes?.find((r) => r.matches(url, req))?.pattern(url) ?? 'unmatched';
  }

  async function readiness(res: ServerResponse): Promise<void> {
    if (!ready) {
      return sendJson(res, 503, {
        status: 'starting',
        neo4j: 'unknown',
        postgres: 'unknown',
        migrations: 'pending',
      });
    }
    const [neo4j, postgres] = await Promise.all([
      deps.graph.reachable(READY_TIMEOUT_MS),
      deps.database.reachable(READY_TIMEOUT_MS),
    ]);
    const body = {
      neo4j: neo4j ? 'reachable' : 'unreachable',
      postgres: postgres ? 'reachable' : 'unreachable',
      migrations: 'applied',
    };
    if (neo4j && postgres) return sendJson(res, 200, { status: 'ready', ...body });
    logger.warn('readiness check failed: a database did not answer', {
      timeoutMs: READY_TIMEOUT_MS,
      ...body,
    });
    const retryAfter = Math.max(
      neo4j ? 1 : deps.graph.retryAfterSeconds,
      postgres ? 1 : deps.database.retryAfterSeconds,
    );
    sendJson(res, 503, { status: 'unavailable', ...body }, { 'retry-after': String(retryAfter) });
  }

  async function graphql(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // GraphQL needs an access token of a space (issue #5); only the landing page is served without one.
    const principal = await deps.services.spaces.authenticate(presentedSecret(req));
    const wantsPage = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
    if (!wantsPage && (principal === null || principal.kind !== 'token')) {
      return sendJson(
        res,
        401,
        {
          errors: [
            {
              message:
                principal === null
                  ? 'An access token is required: send it as "Authorization: Bearer <token>".'
                  : 'Write keys only send events (/v1/*); GraphQL needs an access token.',
              extensions: { code: 'UNAUTHENTICATED' },
            },
          ],
        },
        { 'www-authenticate': 'Bearer' },
      );
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (req.method === 'POST') {
      const text = await readBody(req, MAX_BODY_BYTES);
      if (text === null) {
        return sendJson(res, 413, {
          errors: [
            {
              message: `Request body over ${MAX_BODY_BYTES} bytes`,
              extensions: { code: 'PAYLOAD_TOO_LARGE' },
            },
          ],
        });
      }
      try {
        // Integers too long for a double keep their digits in variables (SEMANTICS.md §8, src/json.ts).
        body = text === '' ? {} : parseJson(text);
      } catch {
        return sendJson(res, 400, {
          errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
        });
      }
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => {
        // The landing page's own GET never reaches resolvers, so a principal exists whenever one runs.
        const space = principal?.space ?? '';
        return {
          space,
          scopes: principal?.scopes ?? [],
          services: deps.services,
          loaders: deps.services.profiles.loaders(space, (ids, level) =>
            deps.services.computed.values(space, ids, level),
          ),
        };
      },
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  return {
    server,
    apollo,
    setReady: (value) => {
      ready = value;
    },
    close: async () => {
      ready = false;
      await subscriptions.close();
      // Stop accepting connections, let in-flight requests finish, then stop Apollo.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await apollo.stop();
    },
  };
}

/**
 * SEMANTICS.md §7: the database is unreachable (here, while authenticating); 503 with Retry-After, in
 * the shape of the route's other errors. Resolvers' own refusals reach Apollo as coded errors instead.
 */
function unavailable(req: IncomingMessage, res: ServerResponse, error: ServiceUnavailableError): void {
  const { code, message } = error;
  const graphql = new URL(req.url ?? '/', 'http://localhost').pathname === '/graphql';
  sendJson(
    res,
    503,
    graphql ? { errors: [{ message, extensions: { code } }] } : { error: { code, message } },
    {
      'retry-after': String(error.retryAfterSeconds),
    },
  );
}

/** Unexpected errors are logged in full and reach clients only as INTERNAL_SERVER_ERROR. */
export function maskError(
  formatted: GraphQLFormattedError,
  error: unknown,
  logger: Logger,
): GraphQLFormattedError {
  const original = (error as { originalError?: unknown } | null)?.originalError;
  const ownCode = (original as { code?: unknown } | undefined)?.code;
  if (typeof ownCode === 'string' && PUBLIC_CODES.has(ownCode)) {
    // An InputError names the offending argument (SEMANTICS.md §7: the path of the offending field).
    const field = (original as { field?: unknown }).field;
    return {
      ...formatted,
      extensions: { ...formatted.extensions, code: ownCode, ...(Array.isArray(field) ? { field } : {}) },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && PUBLIC_CODES.has(code)) return formatted;
  logger.error('unexpected error', { error: original ?? error });
  return {
    message: 'Internal server error',
    path: formatted.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}
