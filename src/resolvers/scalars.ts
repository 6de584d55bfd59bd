// JSON, JSONObject, DateTime, SegmentId and SegmentTimestamp scalars. Values pass through as parsed JSON
// (numbers too long for a double as LosslessNumber, src/json.ts); literals in queries are converted from
// the GraphQL AST the same way, so one payload means the same in a variable, a literal and over HTTP.
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { isSafeNumber } from 'lossless-json';
import { isLosslessNumber, LosslessNumber } from '../json.ts';

/** A numeric literal as parseJson reads it: a number when a double holds it exactly, else its digits. */
function literalNumber(text: string): number | LosslessNumber {
  return isSafeNumber(text) ? Number(text) : new LosslessNumber(text);
}

function literalToJson(node: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return literalNumber(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT: {
      // Own properties, so that a key such as `__proto__` is data, as it is in a variable (SEMANTICS.md §8).
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    }
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    default:
      throw new GraphQLError(`Unsupported JSON literal ${node.kind}`);
  }
}

/** An object; `[]` (PHP's encoding of an empty map) is `{}` (SEMANTICS.md §8). */
function asObject(value: unknown): Record<string, unknown> {
  if (Array.isArray(value) && value.length === 0) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isLosslessNumber(value)) {
    throw new GraphQLError('JSONObject must be an object', { extensions: { code: 'VALIDATION_FAILED' } });
  }
  return value as Record<string, unknown>;
}

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (node, variables) => literalToJson(node, variables),
});

export const JSONObjectScalar = new GraphQLScalarType({
  name: 'JSONObject',
  serialize: asObject,
  parseValue: asObject,
  parseLiteral: (node, variables) => asObject(literalToJson(node, variables)),
});

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (value) => {
    if (value instanceof Date) return value.toISOString();
    throw new GraphQLError('DateTime must be a Date');
  },
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
    if (Number.isNaN(date.getTime())) {
      throw new GraphQLError('DateTime must be an ISO-8601 string', {
        extensions: { code: 'VALIDATION_FAILED' },
      });
    }
    return date;
  },
});

const refuseId = (): never => {
  throw new GraphQLError('SegmentId must be a string or an integer', {
    extensions: { code: 'VALIDATION_FAILED' },
  });
};

/**
 * A string or a number, passed on as sent: ingestion (src/ingest/event.ts) turns exact integers into
 * their digits and refuses the rest at the field's path, as it does for HTTP (SEMANTICS.md §8).
 */
export const SegmentIdScalar = new GraphQLScalarType({
  name: 'SegmentId',
  serialize: (value) => (typeof value === 'string' ? value : refuseId()),
  parseValue: (value) =>
    typeof value === 'string' || typeof value === 'number' || isLosslessNumber(value) ? value : refuseId(),
  parseLiteral: (node) => {
    if (node.kind === Kind.STRING) return node.value;
    if (node.kind === Kind.INT || node.kind === Kind.FLOAT) return literalNumber(node.value);
    return refuseId();
  },
});

/**
 * Any JSON value, passed on as sent: ingestion uses it when it is an ISO-8601 date-time with an offset,
 * and otherwise records a TIMESTAMP_INVALID warning, as it does for HTTP (SEMANTICS.md §1, §8).
 */
export const SegmentTimestampScalar = new GraphQLScalarType({
  name: 'SegmentTimestamp',
  serialize: (value) => (value instanceof Date ? value.toISOString() : value),
  parseValue: (value) => value,
  parseLiteral: (node, variables) => literalToJson(node, variables),
});
