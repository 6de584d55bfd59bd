// Opaque keyset cursors (issue #4): a cursor encodes the sort key of the last item of a page, so paging
// stays stable while new events or profiles arrive, and no offset is ever used.
import { InputError } from '../errors.ts';

/** A page position: the sort key of the item the next page starts after. */
export interface Position {
  time: number;
  id: string;
}

export function encodeCursor(kind: string, position: Position): string {
  return Buffer.from(JSON.stringify([kind, position.time, position.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor made by encodeCursor for the same kind of list; anything else is a coded error. */
export function decodeCursor(kind: string, cursor: string): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    parsed[0] !== kind ||
    typeof parsed[1] !== 'number' ||
    typeof parsed[2] !== 'string'
  ) {
    throw new InputError(`"${cursor}" is not a cursor of this list; pass an endCursor returned by it`, [
      'after',
    ]);
  }
  return { time: parsed[1], id: parsed[2] };
}

export const MAX_PAGE_SIZE = 100;

/** Checks a page size against the cap (issue #4: at most 100, a coded error beyond). */
export function pageSize(first: number, field = 'first'): number {
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new InputError(`${field} must be between 0 and ${MAX_PAGE_SIZE}, got ${first}`, [field]);
  }
  return first;
}
