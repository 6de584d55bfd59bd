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
