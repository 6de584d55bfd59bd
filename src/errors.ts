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
