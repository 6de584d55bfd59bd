// One error vocabulary (STYLE.md §8, SEMANTICS.md §7): stable codes, actionable messages, field paths.
import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'NO_IDENTIFIERS'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

/** An expected refusal, carried as data in results (STYLE.md §9). */
export interface AppError {
  code: ErrorCode;
  message: string;
  path: (string | number)[];
}

/** A refusal that must abort the whole GraphQL operation. */
export function graphqlError(error: AppError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { code: error.code, path: error.path } });
}

/**
 * A refusal raised by a service for a read or an argument (a bad cursor, a page size over the cap). It
 * reaches the client with its code and the path of the offending argument (`extensions.field`).
 */
export class InputError extends Error {
  readonly code: ErrorCode = 'VALIDATION_FAILED';
  constructor(
    message: string,
    readonly field: (string | number)[],
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * The database could not be reached within NEO4J_UNAVAILABLE_TIMEOUT_MS (`reason` 'unreachable'), or kept
 * losing lock conflicts to concurrent writers past every retry ('busy') (SEMANTICS.md §7: 503 with
 * Retry-After; docs/adr/0012-group-commit.md). The client sends the request again after `retryAfterSeconds`; an event sent again with
 * its messageId is applied once (docs/adr/0017-outages-and-browser-credentials.md). Raised by the graph
 * layer for failures recognised by their driver code.
 * `extensions` reaches GraphQL through graphql-js (a resolver's error keeps its original's extensions),
 * and Apollo Server turns `extensions.http` into the response's status and headers.
 */
export class ServiceUnavailableError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE' as const;
  readonly extensions: {
    code: 'SERVICE_UNAVAILABLE';
    http: { status: number; headers: Map<string, string> };
  };

  constructor(
    readonly retryAfterSeconds: number,
    override readonly cause?: unknown,
    readonly reason: 'unreachable' | 'busy' = 'unreachable',
  ) {
    super(
      reason === 'busy'
        ? `The database is busy with conflicting writes; retry after ${retryAfterSeconds} s.`
        : `The database is unreachable at the moment; retry after ${retryAfterSeconds} s.`,
    );
    this.name = 'ServiceUnavailableError';
    this.extensions = {
      code: this.code,
      http: { status: 503, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
    };
  }
}
