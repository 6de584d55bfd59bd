// Scope checks (issue #5): every token reads; writing events needs `write`; changing rules needs `admin`.
import { GraphQLError } from 'graphql';
import type { Context } from '../context.ts';
import type { Scope } from '../spaces/index.ts';

export function requireScope(ctx: Context, scope: Scope): void {
  if (!ctx.scopes.includes(scope)) {
    throw new GraphQLError(`This access token lacks the "${scope}" scope.`, {
      extensions: { code: 'FORBIDDEN', http: { status: 403 } },
    });
  }
}
