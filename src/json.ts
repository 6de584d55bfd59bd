/**
 * JSON that keeps every number's digits (SEMANTICS.md §8 "Numbers as ids"; docs/adr/0014-input-hygiene.md).
 *
 * `JSON.parse` rounds an integer beyond ±(2^53 − 1) to the nearest double, so `6416965886464272042` and
 * `6416965886464272041` become one value and two people one id. Text that may hold a number a double
 * cannot carry (16 or more digits, or an exponent) is parsed with `lossless-json` instead: a number
 * that a double holds exactly stays a `number`; any other stays a `LosslessNumber` carrying its digits.
 * Id fields refuse a `LosslessNumber` (ingest/event.ts); properties and traits keep it, and
 * `stringifyJson` writes it back digit for digit, in storage and in every answer.
 */
import { isLosslessNumber, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

export { isLosslessNumber, LosslessNumber };

/**
 * A number can lose digits only when it is written with 16 or more digits (a decimal point may stand
 * among them) or with an exponent. The test may also fire inside a string; that only costs the slower
 * parser.
 */
const MAY_LOSE_DIGITS = /(?:\d\.?){16}|\d[eE][+-]?\d/;

/** Parses JSON text; throws `SyntaxError` as `JSON.parse` does. The last of duplicate keys wins. */
export function parseJson(text: string): unknown {
  if (!MAY_LOSE_DIGITS.test(text)) return JSON.parse(text);
  return parse(text, null, {
    parseNumber: (digits) => (isSafeNumber(digits) ? Number(digits) : new LosslessNumber(digits)),
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

/** True when `value` holds a `LosslessNumber` anywhere (a walk that stops at the first one). */
export function holdsLosslessNumber(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (isLosslessNumber(value)) return true;
  if (Array.isArray(value)) return value.some(holdsLosslessNumber);
  if (value instanceof Date) return false;
  for (const key in value) {
    if (Object.hasOwn(value, key) && holdsLosslessNumber((value as Record<string, unknown>)[key]))
      return true;
  }
  return false;
}

/**
 * `JSON.stringify`, but a `LosslessNumber` is written as the number it carries. The common case (no such
 * number) is the native function.
 */
export function stringifyJson(value: unknown): string {
  if (!holdsLosslessNumber(value)) return JSON.stringify(value);
  return stringify(value) ?? 'null';
}
