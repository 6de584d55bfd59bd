/**
 * Identifier extraction and normalisation (SEMANTICS.md §2). Pure.
 */
import type { JsonObject, ValidEvent } from '../ingest/event.ts';

export interface Identifier {
  type: string;
  value: string;
}

/** Identifier types are lowercase; `:` is excluded because it separates type and value in a key. */
export const IDENTIFIER_TYPE_PATTERN = /^[a-z0-9_.-]+$/;

export const identifierKey = (id: Identifier): string => `${id.type}:${id.value}`;

/** The type as stored (trimmed, lower-cased), or null when it cannot name a type. */
export function normaliseType(type: string): string | null {
  const normal = type.trim().toLowerCase();
  return IDENTIFIER_TYPE_PATTERN.test(normal) ? normal : null;
}

/**
 * §2 Normalisation: values are trimmed, `email` values lower-cased, other values stay case-sensitive.
 * Returns null for a blank value or a type that is not a valid type name.
 */
export function normaliseIdentifier(type: string, value: string): Identifier | null {
  const normalType = normaliseType(type);
  if (normalType === null) return null;
  let normalValue = value.trim();
  if (normalValue === '') return null;
  if (normalType === 'email') normalValue = normalValue.toLowerCase();
  return { type: normalType, value: normalValue };
}

/** `"email:Jane@X.com"` → `{ type: 'email', value: 'jane@x.com' }`. The type ends at the first `:`. */
export function parseIdentifierKey(key: string): Identifier | null {
  const colon = key.indexOf(':');
  if (colon <= 0) return null;
  return normaliseIdentifier(key.slice(0, colon), key.slice(colon + 1));
}

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/** Identifier values may arrive as numbers (converted); anything else is not an identifier value. */
function asValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * The identifiers an event carries (§2), normalised, deduplicated by key, in a stable order: `user_id`
 * first, then `anonymous_id`, then the rest in the order of the table in §2. `group_id` is not included:
 * it identifies an account, not a user profile (§2).
 *
 * Alias: only `user_id`. `previousId` is recorded with the event and the service handles alias on its
 * own (§1: by default it does not merge). Taking `previousId` or the alias's `anonymousId` as an
 * identifier here would merge the two profiles as a side effect.
 *
 * Emails come from `traits.email` of every call except `group`, whose traits describe the account (§5):
 * a company's billing address must not become an identifier of whichever user sent the group call.
 */
export function extractIdentifiers(event: ValidEvent): Identifier[] {
  const found: Identifier[] = [];
  const add = (type: string, raw: unknown): void => {
    const value = asValue(raw);
    if (value === undefined) return;
    const id = normaliseIdentifier(type, value);
    if (id !== null) found.push(id);
  };
  const addEmail = (raw: unknown): void => {
    if (typeof raw === 'string') add('email', raw);
  };

  add('user_id', event.userId);
  if (event.type === 'alias') return dedupe(found);
  add('anonymous_id', event.anonymousId);

  const context = event.context;
  if (event.type !== 'group') addEmail(asObject(event.traits)?.email);
  addEmail(asObject(context.traits)?.email);
  addEmail(asObject(event.properties)?.email);

  const device = asObject(context.device);
  if (device !== undefined) {
    const platform = typeof device.type === 'string' ? device.type.trim().toLowerCase() : undefined;
    if (platform === 'ios' || platform === 'android') {
      add(`${platform}.id`, device.id);
      if (device.adTrackingEnabled === true) add(`${platform}.idfa`, device.advertisingId);
      add(`${platform}.push_token`, device.token);
    }
  }

  add('ga_client_id', asObject(asObject(context.integrations)?.['Google Analytics'])?.clientId);

  const externalIds = context.externalIds;
  if (Array.isArray(externalIds)) {
    for (const entry of externalIds) {
      const ext = asObject(entry);
      if (ext === undefined || typeof ext.type !== 'string') continue;
      // Only ids of users become profile identifiers; other collections (e.g. accounts) do not.
      if (ext.collection !== undefined && ext.collection !== null && ext.collection !== 'users') continue;
      add(ext.type, ext.id);
    }
  }
  return dedupe(found);
}

/** Keeps the first occurrence of each key, then moves `user_id` and `anonymous_id` to the front. */
function dedupe(ids: Identifier[]): Identifier[] {
  const seen = new Set<string>();
  const unique = ids.filter((id) => {
    const key = identifierKey(id);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const rank = (id: Identifier): number => (id.type === 'user_id' ? 0 : id.type === 'anonymous_id' ? 1 : 2);
  // Array.prototype.sort is stable, so extraction order is kept within each rank.
  return unique.sort((a, b) => rank(a) - rank(b));
}
