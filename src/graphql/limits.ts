// Static limits on what one GraphQL operation may ask for: how deep it nests and what it costs, both
// computed from the document before anything runs (docs/adr/0006-graphql-protection.md).
//
// Introspection fields (`__schema`, `__type`, `__typename`) and everything below them count for nothing:
// they are answered from the in-memory schema, and graphql-js's MaxIntrospectionDepthRule (one of the
// `specifiedRules` Apollo always runs) already bounds how far an introspection query can fan out. The
// standard introspection query is 15 fields deep, so counting it would force a looser depth limit on
// every other query.
import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type ASTNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
  type ValueNode,
} from 'graphql';

export type LimitCode = 'QUERY_TOO_DEEP' | 'QUERY_TOO_COSTLY';

/** The largest page a `first` argument may ask for; a `first` whose value is not known counts as this. */
export const MAX_PAGE_SIZE = 100;
/** How many items a list field without `first` is assumed to return. */
export const LIST_MULTIPLIER = 10;

type FragmentLookup = (name: string) => FragmentDefinitionNode | undefined;
type Variables = Readonly<Record<string, unknown>>;

/** Refuses operations that select fields nested deeper than `maxDepth` (a root field is at depth 1). */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const depth = operationDepth(operation, (name) => context.getFragment(name) ?? undefined);
      if (depth > maxDepth) {
        context.reportError(
          limitError(
            'QUERY_TOO_DEEP',
            `Operation depth ${depth} exceeds the limit of ${maxDepth}: select less deeply nested fields or split the operation.`,
            [operation],
          ),
        );
      }
    },
  });
}

/**
 * Refuses operations whose static cost exceeds `maxCost`. A validation rule does not see the request's
 * variables: without `variables`, a `first` given by a variable counts as MAX_PAGE_SIZE. Apollo uses
 * costLimitPlugin instead, which reads them.
 */
export function costLimitRule(maxCost: number, variables?: Variables): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const lookup: FragmentLookup = (name) => context.getFragment(name) ?? undefined;
      const cost = operationCost(context.getSchema(), operation, lookup, variables);
      if (cost > maxCost) context.reportError(costError(cost, maxCost, [operation]));
    },
  });
}

/** The cost limit for Apollo: checks the operation being run, once its variables are known. */
export function costLimitPlugin(maxCost: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          // No operation: Apollo reports the unknown operation name itself.
          if (operation === undefined) return;
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) {
              fragments.set(definition.name.value, definition);
            }
          }
          const lookup: FragmentLookup = (name) => fragments.get(name);
          const cost = operationCost(schema, operation, lookup, request.variables ?? {});
          // Without a location: only this operation is costed, so there is no other it could be.
          if (cost > maxCost) throw costError(cost, maxCost, [], 400);
        },
      };
    },
  };
}

/** The deepest field nesting an operation selects; fragments count where they are spread. */
export function operationDepth(operation: OperationDefinitionNode, fragment: FragmentLookup): number {
  const fragmentDepths = new Map<string, number>();
  const visiting = new Set<string>();

  const depthOf = (set: SelectionSetNode | undefined): number => {
    let deepest = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (isIntrospection(selection)) continue;
        deepest = Math.max(deepest, 1 + depthOf(selection.selectionSet));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        deepest = Math.max(deepest, depthOf(selection.selectionSet));
      } else {
        deepest = Math.max(deepest, spread(selection.name.value));
      }
    }
    return deepest;
  };
  // Memoised so that a fragment spread many times is measured once; a cycle (reported by
  // NoFragmentCyclesRule) counts as nothing instead of recursing forever.
  const spread = (name: string): number => {
    const known = fragmentDepths.get(name);
    if (known !== undefined) return known;
    const definition = fragment(name);
    if (definition === undefined || visiting.has(name)) return 0;
    visiting.add(name);
    const depth = depthOf(definition.selectionSet);
    visiting.delete(name);
    fragmentDepths.set(name, depth);
    return depth;
  };

  return depthOf(operation.selectionSet);
}

/**
 * The static cost of an operation: each field costs 1, plus the cost of its sub-selection times its
 * multiplier. The multiplier is the field's `first` argument (a literal, or the variable's value; an unseen
 * variable counts as MAX_PAGE_SIZE), else the schema's default for `first`, else LIST_MULTIPLIER for a
 * list field and 1 for any other.
 *
 * One exception: when `first` is on a field that is not itself a list (a connection such as
 * `profiles(first: 20) { nodes { id } }`), the connection's own lists (`edges`, `nodes`) are that page and
 * count 1, not LIST_MULTIPLIER: the page size is already counted.
 *
 * @param variables the request's variables; undefined when they are not known (a validation rule).
 */
export function operationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragment: FragmentLookup,
  variables?: Variables,
): number {
  const fragmentCosts = new Map<string, number>();
  const visiting = new Set<string>();

  /** `page`: the selection set is that of a connection, whose lists are the page already counted. */
  const costOf = (
    set: SelectionSetNode | undefined,
    parent: GraphQLNamedType | undefined,
    page: boolean,
  ): number => {
    let cost = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (isIntrospection(selection)) continue;
        const definition = fieldDefinition(parent, selection.name.value);
        const list = definition !== undefined && isList(definition.type);
        const first = firstOf(selection, definition);
        const times = first ?? (list && !page ? LIST_MULTIPLIER : 1);
        const child = definition === undefined ? undefined : namedType(schema, definition.type);
        cost += 1 + times * costOf(selection.selectionSet, child, first !== undefined && !list);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition?.name.value;
        const type = condition === undefined ? parent : schema.getType(condition);
        cost += costOf(selection.selectionSet, type ?? undefined, page);
      } else {
        cost += spread(selection.name.value, page);
      }
    }
    return cost;
  };
  // A fragment costs the same wherever it is spread (inside a connection or not), so it is computed once
  // for each; this also defuses fragments that spread each other many times over.
  const spread = (name: string, page: boolean): number => {
    const key = `${page ? 'page' : 'plain'}:${name}`;
    const known = fragmentCosts.get(key);
    if (known !== undefined) return known;
    const definition = fragment(name);
    if (definition === undefined || visiting.has(key)) return 0;
    visiting.add(key);
    const type = schema.getType(definition.typeCondition.name.value) ?? undefined;
    const cost = costOf(definition.selectionSet, type, page);
    visiting.delete(key);
    fragmentCosts.set(key, cost);
    return cost;
  };

  /** The page size a field asks for with `first`, given or by the schema's default; undefined without. */
  const firstOf = (node: FieldNode, definition: GraphQLField<unknown, unknown> | undefined) => {
    const argument = node.arguments?.find((a) => a.name.value === 'first');
    const given = argument === undefined ? undefined : pageSize(argument.value);
    if (given !== undefined) return given;
    const fallback = definition?.args.find((a) => a.name === 'first')?.defaultValue;
    return typeof fallback === 'number' ? Math.max(0, fallback) : undefined;
  };
  /** The page size a `first` value asks for; undefined when it is null (as if `first` were absent). */
  const pageSize = (value: ValueNode): number | undefined => {
    if (value.kind === Kind.NULL) return undefined;
    if (value.kind === Kind.INT) return Math.max(0, Number(value.value));
    if (value.kind !== Kind.VARIABLE || variables === undefined) return MAX_PAGE_SIZE;
    const name = value.name.value;
    if (!(name in variables)) {
      const declared = operation.variableDefinitions?.find((d) => d.variable.name.value === name);
      return declared?.defaultValue === undefined ? undefined : pageSize(declared.defaultValue);
    }
    const given = variables[name];
    if (given === null) return undefined;
    // Anything but a whole number fails variable coercion later; until then it counts as the largest page.
    return typeof given === 'number' && Number.isInteger(given) ? Math.max(0, given) : MAX_PAGE_SIZE;
  };

  return costOf(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined, false);
}

function isIntrospection(field: FieldNode): boolean {
  return field.name.value.startsWith('__');
}

// Types are inspected by shape and by their printed form, not with graphql-js's `isObjectType`-style
// predicates: those are `instanceof` checks that throw when the schema was built by another copy of
// graphql (Apollo loads its CommonJS build; a test runner may load the ES module build for this file).

function fieldDefinition(
  parent: GraphQLNamedType | undefined,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  // Unknown types and fields are reported by the specified rules; here they simply cost 1.
  if (parent === undefined || !('getFields' in parent)) return undefined;
  const field = parent.getFields()[name];
  return field !== undefined && 'args' in field ? field : undefined;
}

/** A list type prints as `[T]` or `[T]!`. */
function isList(type: GraphQLOutputType): boolean {
  return String(type).startsWith('[');
}

function namedType(schema: GraphQLSchema, type: GraphQLOutputType): GraphQLNamedType | undefined {
  return schema.getType(String(type).replace(/[[\]!]/g, '')) ?? undefined;
}

function costError(cost: number, maxCost: number, nodes: ASTNode[], status?: number) {
  return limitError(
    'QUERY_TOO_COSTLY',
    `Operation cost ${cost} exceeds the limit of ${maxCost}: ask for smaller pages (\`first\`) or fewer nested lists.`,
    nodes,
    status,
  );
}

/**
 * A refusal with a stable code. The code is also set on the error itself: Apollo replaces the
 * `extensions.code` of validation errors with GRAPHQL_VALIDATION_FAILED and keeps this error as the
 * `originalError`, whose public `code` maskError (src/app.ts) puts back, as it does for InputError.
 */
function limitError(code: LimitCode, message: string, nodes: ASTNode[], status?: number): GraphQLError {
  const extensions = status === undefined ? { code } : { code, http: { status } };
  return Object.assign(new GraphQLError(message, { nodes, extensions }), { code });
}
