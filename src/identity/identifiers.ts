/**
 * Identifier extraction and normalisation (SEMANTICS.md §2). Pure.
 */
import { LIMITS, LONE_SURROGATE, type JsonObject, type ValidEvent } from '../ingest/event.ts';
import { isLosslessNumber } from '../json.ts';

export interface Identifier {
  type: string;
  value: string;
}

/** Identifier types are lowercase; `:` is excluded because it separates type and value in a key. */
export const IDENTIFIER_TYPE_PATTERN = /^[a-z0-9_.-]+$/;
/** §8 Sizes: an identifier type name (the part before `:` of every key) is at most this long. */
export const MAX_TYPE_CHARS = 64;

export const identifierKey = (id: Identifier): string => `${id.type}:${id.value}`;

/** The type as stored (trimmed, lower-cased), or null when it cannot name a type. */
export function normaliseType(type: string): string | null {
  const normal = type.trim().toLowerCase();
  return IDENTIFIER_TYPE_PATTERN.test(normal) ? normal : null;
}

/** Unicode format characters (category Cf): zero-width spaces and joiners, BOM, soft hyphen, bidi marks. */
const FORMAT_CHARACTERS = /\p{Cf}/gu;

/**
 * §2, §8 Normalisation: values are trimmed; `email` values also lose invisible format characters, are
 * put in Unicode NFC and lower-cased, so one address written two ways is one identifier. Other values
 * stay case-sensitive. Returns null for a blank value or a type that is not a valid type name.
 */
export function normaliseIdentifier(type: string, value: string): Identifier | null {
  const normalType = normaliseType(type);
  if (normalType === null) return null;
  let normalValue = value.trim();
  if (normalType === 'email') {
    normalValue = normalValue.replace(FORMAT_CHARACTERS, '').normalize('NFC').toLowerCase().trim();
  }
  if (normalValue === '') return null;
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

/** Where an event carries an identifier: its type, the raw value as sent, and the field's path. */
interface IdentifierSource {
  type: string;
  raw: unknown;
  path: (string | number)[];
}

/**
 * Every place of an event that §2 reads an identifier from, in the order of its table. Alias: only
 * `user_id`, else `anonymous_id` (one identifier, so no merge). `previousId` is recorded with the event
 * and the service handles alias on its own (§1: it does not merge); taking it, or the anonymousId of an
 * alias that has a userId, as an identifier here would merge the two profiles as a side effect.
 *
 * Emails come from `traits.email` of every call except `group`, whose traits describe the account (§5):
 * a company's billing address must not become an identifier of whichever user sent the group call.
 */
function identifierSources(event: ValidEvent): IdentifierSource[] {
  const found: IdentifierSource[] = [];
  const add = (type: string, raw: unknown, path: (string | number)[]): void => {
    if (raw !== undefined && raw !== null) found.push({ type, raw, path });
  };
  const addEmail = (raw: unknown, path: (string | number)[]): void => {
    if (typeof raw === 'string') add('email', raw, path);
  };

  add('user_id', event.userId, ['userId']);
  if (event.type === 'alias') {
    if (event.userId === undefined) add('anonymous_id', event.anonymousId, ['anonymousId']);
    return found;
  }
  add('anonymous_id', event.anonymousId, ['anonymousId']);

  const context = event.context;
  if (event.type !== 'group') addEmail(asObject(event.traits)?.email, ['traits', 'email']);
  addEmail(asObject(context.traits)?.email, ['context', 'traits', 'email']);
  addEmail(asObject(event.properties)?.email, ['properties', 'email']);

  const device = asObject(context.device);
  if (device !== undefined) {
    const platform = typeof device.type === 'string' ? device.type.trim().toLowerCase() : undefined;
    if (platform === 'ios' || platform === 'android') {
      const at = ['context', 'device'];
      add(`${platform}.id`, device.id, [...at, 'id']);
      if (device.adTrackingEnabled === true)
        add(`${platform}.idfa`, device.advertisingId, [...at, 'advertisingId']);
      add(`${platform}.push_token`, device.token, [...at, 'token']);
    }
  }

  const ga = asObject(asObject(context.integrations)?.['Google Analytics'])?.clientId;
  add('ga_client_id', ga, ['context', 'integrations', 'Google Analytics', 'clientId']);

  const externalIds = context.externalIds;
  if (Array.isArray(externalIds)) {
    externalIds.forEach((entry, i) => {
      const ext = asObject(entry);
      if (ext === undefined || typeof ext.type !== 'string') return;
      // Only ids of users become profile identifiers; other collections (e.g. accounts) do not.
      if (ext.collection !== undefined && ext.collection !== null && ext.collection !== 'users') return;
      add(ext.type, ext.id, ['context', 'externalIds', i, 'id']);
    });
  }
  return found;
}

/** Identifier values may arrive as numbers: integers a double holds exactly become their digits. */
function asValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

/**
 * The identifiers an event carries (§2), normalised, deduplicated by key, in a stable order: `user_id`
 * first, then `anonymous_id`, then the rest in the order of the table in §2. `group_id` is not included:
 * it identifies an account, not a user profile (§2). Values that are not strings or exact integers are
 * skipped (identifierProblem refuses such events before they get here).
 */
export function extractIdentifiers(event: ValidEvent): Identifier[] {
  const found: Identifier[] = [];
  for (const source of identifierSources(event)) {
    const value = asValue(source.raw);
    if (value === undefined) continue;
    const id = normaliseIdentifier(source.type, value);
    if (id !== null) found.push(id);
  }
  return dedupe(found);
}

/**
 * §8: the first identifier value the database could not take or that would be rounded: over
 * LIMITS.idBytes UTF-8 bytes, a type name over MAX_TYPE_CHARS, or a number that is not an integer a
 * double holds exactly. Returns the message and the field's path (relative to the event), or null.
 */
export function identifierProblem(event: ValidEvent): { message: string; path: (string | number)[] } | null {
  for (const { type, raw, path } of identifierSources(event)) {
    const field = String(path[path.length - 1]);
    if (type.trim().length > MAX_TYPE_CHARS) {
      const typePath = [...path.slice(0, -1), 'type'];
      return { message: `an identifier type may have at most ${MAX_TYPE_CHARS} characters`, path: typePath };
    }
    if (isLosslessNumber(raw) || (typeof raw === 'number' && !Number.isSafeInteger(raw))) {
      return {
        message: `${field} is the number ${String(raw)}: only integers within ±(2^53 − 1) are exact as JSON numbers; send it as a string`,
        path,
      };
    }
    if (typeof raw === 'string') {
      if (LONE_SURROGATE.test(raw)) return { message: `${field} holds an unpaired UTF-16 surrogate`, path };
      // PostgreSQL's text cannot hold NUL (docs/adr/0018-event-store.md).
      if (raw.includes('\u0000')) return { message: `${field} holds a NUL character`, path };
      const bytes = Buffer.byteLength(raw.trim(), 'utf8');
      if (bytes > LIMITS.idBytes) {
        return {
          message: `${field} is ${bytes} bytes; an identifier may have at most ${LIMITS.idBytes} bytes (UTF-8)`,
          path,
        };
      }
    }
  }
  return null;
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
