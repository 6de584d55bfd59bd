// Traits merge by last write wins per key, ordered by event time, then receivedAt, then messageId
// (SEMANTICS.md §5), so the result does not depend on the order in which events arrive. A `null` removes
// a trait but keeps its stamp, so that an older value arriving later cannot bring it back.
import { isLosslessNumber, parseJson, stringifyJson } from '../json.ts';

export interface Stamp {
  /** Event time, epoch ms. */
  t: number;
  /** receivedAt, epoch ms. */
  r: number;
  /** messageId. */
  m: string;
}

export interface TraitMeta extends Stamp {
  /** Set when the newest write removed the trait. */
  d?: true;
}

export interface TraitState {
  values: Record<string, unknown>;
  meta: Record<string, TraitMeta>;
}

export const emptyTraits = (): TraitState => ({ values: {}, meta: {} });

export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.r !== b.r) return a.r < b.r ? -1 : 1;
  if (a.m !== b.m) return a.m < b.m ? -1 : 1;
  return 0;
}

/** Writes each key of `traits` when `stamp` is newer than what the key holds. */
export function applyTraits(state: TraitState, traits: Record<string, unknown>, stamp: Stamp): TraitState {
  const next: TraitState = { values: { ...state.values }, meta: { ...state.meta } };
  for (const [key, value] of Object.entries(traits)) {
    writeKey(next, key, value, value === null ? { ...stamp, d: true } : { ...stamp });
  }
  return next;
}

/** Combines several profiles' traits key by key by the same rule (SEMANTICS.md §5, on merge). */
export function mergeTraitStates(states: TraitState[]): TraitState {
  const out = emptyTraits();
  for (const state of states) {
    for (const [key, meta] of Object.entries(state.meta)) {
      writeKey(out, key, meta.d ? null : state.values[key], meta);
    }
  }
  return out;
}

function writeKey(state: TraitState, key: string, value: unknown, meta: TraitMeta): void {
  const current = state.meta[key];
  if (current !== undefined && compareStamps(meta, current) <= 0) return;
  setOwn(state.meta, key, meta);
  if (meta.d) delete state.values[key];
  else setOwn(state.values, key, value);
}

// Trait keys come from clients: define own properties so that a key such as `__proto__` is stored as data.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function parseTraitState(values: unknown, meta: unknown): TraitState {
  return {
    values: parseObject(values) as Record<string, unknown>,
    meta: parseObject(meta) as Record<string, TraitMeta>,
  };
}

function parseObject(json: unknown): Record<string, unknown> {
  if (typeof json !== 'string' || json === '') return {};
  const parsed: unknown = parseJson(json);
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : {};
}

/** Traits are mirrored as `trait.<key>` properties on the profile so that searches can filter on them. */
export const TRAIT_PROPERTY_PREFIX = 'trait.';

/**
 * The property changes that take a profile's mirrored traits from `before` to `after`: scalars as they are,
 * objects and arrays as JSON text, and null for keys that went away (Cypher's `SET p += map` removes them).
 */
export function traitProperties(before: TraitState, after: TraitState): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(before.values)) {
    if (!Object.hasOwn(after.values, key)) props[TRAIT_PROPERTY_PREFIX + key] = null;
  }
  for (const [key, value] of Object.entries(after.values)) {
    props[TRAIT_PROPERTY_PREFIX + key] = searchableValue(value);
  }
  return props;
}

/** Scalars as they are; an integer too long for a double (§8) as its digits; the rest as JSON text. */
export function searchableValue(value: unknown): unknown {
  if (isLosslessNumber(value)) return value.toString();
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? value
    : stringifyJson(value);
}
