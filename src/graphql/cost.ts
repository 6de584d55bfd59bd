// What an operation costs: our pricing of our schema's fields, computed from the document and the
// request's variables before anything runs (docs/adr/0006-graphql-protection.md, docs/adr/0015-graphql-armor.md).
//
// graphql-armor's cost rule is not used: it does not know the schema, so it cannot tell a connection from a
// list, price a field by what it returns, or read a `first` given as a variable.
import type { ApolloServerPlugin } from '@apollo/server';
import {
  introspectionFromSchema,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { LIMITS } from '../ingest/index.ts';
import { refusal } from './limits.ts';

/** The largest page a `first` argument may ask for; a `first` whose value is not known counts as this. */
export const MAX_PAGE_SIZE = 100;
/** How many items a list field without `first` is assumed to return. */
export const LIST_MULTIPLIER = 10;

/** One unit of cost per KiB that a JSON field can return. */
const EVENT_KIB = LIMITS.eventBytes / 1024;

/**
 * Fields priced by what they can return rather than at 1: JSON that comes from events, at one unit per
 * KiB. An event is at most 32 KiB of JSON (SEMANTICS.md §1), so each of its maps can be that large. A
 * profile's or an account's traits are merged from many events and have no hard bound; they are priced as
 * one event's worth, and the response size limit bounds the rest.
 */
export const FIELD_PRICES: Readonly<Record<string, number>> = {
  'Event.properties': EVENT_KIB,
  'Event.traits': EVENT_KIB,
  'Event.context': EVENT_KIB,
  'Trait.value': EVENT_KIB,
  'Profile.traits': EVENT_KIB,
  'Account.traits': EVENT_KIB,
  // A computed value is a property's value or a unique list of them (docs/adr/0021-computed-traits.md).
  'ComputedTraitValue.value': EVENT_KIB,
  'ComputedTraitChange.oldValue': EVENT_KIB,
  'ComputedTraitChange.newValue': EVENT_KIB,
  // A delivery's value is a computed value; its payload the call around it (docs/adr/0023).
  'Delivery.value': EVENT_KIB,
  'Delivery.payload': EVENT_KIB,
  // The path of an input field: a few names and indexes.
  'Error.path': 1,
  'Warning.path': 1,
};

export interface Prices {
  /** What `__schema` or `__type` costs: the KiB of the schema's full introspection answer. */
  introspection: number;
}

/** The price of introspection on `schema`: the size of its complete introspection answer, in KiB. */
export function introspectionPrice(schema: GraphQLSchema): number {
  return Math.ceil(Buffer.byteLength(JSON.stringify(introspectionFromSchema(schema))) / 1024);
}

type FragmentLookup = (name: string) => FragmentDefinitionNode | undefined;
type Variables = Readonly<Record<string, unknown>>;

/** The cost limit for Apollo: checks the operation being run, once its variables are known. */
export function costLimitPlugin(maxCost: number): ApolloServerPlugin {
  let prices: Prices = { introspection: 0 };
  return {
    async serverWillStart({ schema }) {
      prices = { introspection: introspectionPrice(schema) };
    },
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
          const cost = operationCost(schema, operation, lookup, request.variables ?? {}, prices);
          // Without a location: only this operation is costed, so there is no other it could be.
          if (cost > maxCost) {
            throw refusal(
              'QUERY_TOO_COSTLY',
              `Operation cost ${cost} exceeds the limit of ${maxCost}: ask for smaller pages (\`first\`), fewer nested lists or fewer JSON fields (\`properties\`, \`traits\`, \`context\`).`,
              [],
              400,
            );
          }
        },
      };
    },
  };
}

/**
 * The static cost of an operation: each field costs its price (FIELD_PRICES, else 1) plus the cost of its
 * sub-selection times a multiplier: its `first` (a literal, the variable's value, the variable's default;
 * a variable whose value is not known counts as MAX_PAGE_SIZE), else the schema's default for `first`,
 * else LIST_MULTIPLIER for a list field and 1 for any other.
 *
 * One exception: when `first` is on a field that is not itself a list (a connection such as
 * `profiles(first: 20) { nodes { id } }`), the connection's own lists (`edges`, `nodes`) are that page and
 * count 1, not LIST_MULTIPLIER: the page size is already counted.
 *
 * `__schema` and `__type` cost `prices.introspection` each, whatever they select; `__typename` is free.
 *
 * @param variables the request's variables; undefined when they are not known.
 */
export function operationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragment: FragmentLookup,
  variables?: Variables,
  prices: Prices = { introspection: 0 },
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
        const name = selection.name.value;
        if (name.startsWith('__')) {
          cost += name === '__typename' ? 0 : prices.introspection;
          continue;
        }
        const definition = fieldDefinition(parent, name);
        const list = definition !== undefined && isList(definition.type);
        const first = firstOf(selection, definition);
        const times = first ?? (list && !page ? LIST_MULTIPLIER : 1);
        const child = definition === undefined ? undefined : namedType(schema, definition.type);
        const price = (parent === undefined ? undefined : FIELD_PRICES[`${parent.name}.${name}`]) ?? 1;
        cost += price + times * costOf(selection.selectionSet, child, first !== undefined && !list);
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

// Types are inspected by shape and by their printed form, not with graphql-js's `isObjectType`-style
// predicates: those are `instanceof` checks that throw when the schema was built by another copy of
// graphql (one loaded as an ES module, the other as CommonJS).

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
