// The generic limits on one GraphQL document, checked before anything runs: tokens, aliases, directives
// and depth (docs/adr/0015-graphql-armor.md). The counting is graphql-armor's; what is ours is the mapping
// of its refusals to SEMANTICS.md §7's codes, and the depth limit that lets introspection nest further.
//
// graphql-armor's own Apollo wrapper (`ApolloArmor`) is not used: it answers every refusal as
// BAD_USER_INPUT, and its token check throws from a hook, which Apollo Server answers with HTTP 500 (for
// any syntax error, not only for too many tokens). Its validation rules and its counting parser are used
// directly instead.
import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  GraphQLError,
  Kind,
  type ASTNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** Every code with which src/graphql refuses an operation (SEMANTICS.md §7; ADR 0015 adds the last two). */
export const REFUSAL_CODES = [
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COSTLY',
  'TOO_MANY_ALIASES',
  'TOO_MANY_TOKENS',
  'TOO_MANY_DIRECTIVES',
  'RESPONSE_TOO_LARGE',
  'OPERATION_NOT_SUPPORTED',
  'PERSISTED_QUERY_HASH_MISMATCH',
] as const;

export type RefusalCode = (typeof REFUSAL_CODES)[number];

export interface DocumentLimits {
  /** Deepest field nesting, a root field being depth 1; `__schema` and below do not count. */
  maxDepth: number;
  /** Deepest nesting of an operation that selects `__schema`, counting every field. */
  maxIntrospectionDepth: number;
  maxAliases: number;
  maxDirectives: number;
}

/**
 * graphql-armor's alias, directive and depth rules, refusing with our codes. Depth counts fields only:
 * fragments, spread or inline, add nothing (`flattenFragments`).
 *
 * Depth is counted twice. Every operation's fields outside `__schema` may nest `maxDepth` deep. An
 * operation that selects `__schema` is also counted in full, introspection included, against
 * `maxIntrospectionDepth`: the standard introspection query (graphql-js's `getIntrospectionQuery()`) is
 * 15 deep, and introspection answers from memory, so it gets a limit of its own rather than a looser
 * limit for every query. graphql-js's MaxIntrospectionDepthRule (one of the `specifiedRules` Apollo
 * always runs) also refuses introspection that recurses through `fields`, `interfaces` or
 * `possibleTypes`.
 */
export function documentLimitRules(limits: DocumentLimits): ValidationRule[] {
  const flat = { flattenFragments: true } as const;
  const introspectionDepth: ValidationRule = (context) => {
    const visitor = maxDepthRule({
      n: limits.maxIntrospectionDepth,
      ignoreIntrospection: false,
      ...flat,
      ...refuseWith(
        'QUERY_TOO_DEEP',
        'An operation that selects __schema counts its introspection fields too; select fewer nested levels.',
      ),
    })(context);
    return {
      OperationDefinition(operation) {
        if (selectsSchema(operation.selectionSet, context)) visitor.onOperationDefinitionEnter(operation);
      },
    };
  };
  return [
    maxAliasesRule({
      n: limits.maxAliases,
      ...refuseWith('TOO_MANY_ALIASES', 'Ask for fewer aliased fields, or split the operation.'),
    }),
    maxDirectivesRule({
      n: limits.maxDirectives,
      ...refuseWith('TOO_MANY_DIRECTIVES', 'Use fewer directives, or split the operation.'),
    }),
    maxDepthRule({
      n: limits.maxDepth,
      ignoreIntrospection: true,
      ...flat,
      ...refuseWith('QUERY_TOO_DEEP', 'Select less deeply nested fields, or split the operation.'),
    }),
    introspectionDepth,
  ];
}

/**
 * The token limit. graphql-js enforces it while parsing (Apollo's `parseOptions.maxTokens`), so a long
 * document is abandoned at the first token over the limit, before it is built or validated. When a parse
 * fails, graphql-armor's counting parser, which stops at the same token, tells whether the limit was the
 * reason; if so the syntax error carries TOO_MANY_TOKENS and our message (maskError in src/app.ts puts
 * the code on the answer, whose HTTP status is already 400).
 */
export function tokenLimit(maxTokens: number): {
  parseOptions: { maxTokens: number };
  plugin: ApolloServerPlugin;
} {
  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      return {
        async parsingDidStart({ source }) {
          return async (error) => {
            if (error === undefined || !exceedsTokens(source, maxTokens)) return;
            Object.assign(error, {
              code: 'TOO_MANY_TOKENS' satisfies RefusalCode,
              message: `The document has more than ${maxTokens} tokens (names, punctuation and literal values): ask for fewer fields, or pass values as variables, which do not count.`,
            });
          };
        },
      };
    },
  };
  return { parseOptions: { maxTokens }, plugin };
}

/** Whether graphql-armor's parser refuses `source` for its token count (it stops at token `n` + 1). */
export function exceedsTokens(source: string, n: number): boolean {
  let refused = false;
  const parser = new MaxTokensParserWLexer(source, {
    n,
    propagateOnRejection: true,
    onReject: [
      () => {
        refused = true;
      },
    ],
  });
  try {
    parser.parseDocument();
  } catch {
    // A refusal or an ordinary syntax error: `refused` tells which.
  }
  return refused;
}

/**
 * A refusal with a stable code. The code is also set on the error itself: Apollo replaces the
 * `extensions.code` of validation and syntax errors with its own and keeps this error as the
 * `originalError`, whose public `code` maskError (src/app.ts) puts back, as it does for InputError.
 */
export function refusal(
  code: RefusalCode,
  message: string,
  nodes: readonly ASTNode[] = [],
  status?: number,
): GraphQLError {
  const extensions = status === undefined ? { code } : { code, http: { status } };
  return Object.assign(new GraphQLError(message, { nodes, extensions }), { code });
}

/** The callbacks every graphql-armor rule takes. */
type ArmorCallbacks = Pick<
  NonNullable<Parameters<typeof maxAliasesRule>[0]>,
  'onAccept' | 'onReject' | 'propagateOnRejection'
>;

/** graphql-armor callbacks that report its refusal on the validation context with our code. */
function refuseWith(code: RefusalCode, advice: string): ArmorCallbacks {
  return {
    propagateOnRejection: false,
    onAccept: [],
    onReject: [
      (context, error) => {
        // graphql-armor words each refusal "Syntax Error: <what> limit of <n> exceeded, found <m>.",
        // although the document parsed; the prefix would mislead.
        const what = error.message.replace(/^Syntax Error: /, '');
        context?.reportError(refusal(code, `${what} ${advice}`));
      },
    ],
  };
}

/** Whether an operation selects `__schema` (a root field, possibly inside fragments on the root type). */
function selectsSchema(set: SelectionSetNode, context: ValidationContext, seen = new Set<string>()): boolean {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === '__schema') return true;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (selectsSchema(selection.selectionSet, context, seen)) return true;
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = context.getFragment(selection.name.value);
      if (fragment && selectsSchema(fragment.selectionSet, context, seen)) return true;
    }
  }
  return false;
}
