/**
 * The pure parts of the Profiles CSV upload (SEMANTICS.md §12, docs/adr/0026-profiles-csv-upload.md):
 * checking a header against Segment's requirements, turning one row into an identify call, naming the
 * column an ingest refusal points at, and each row's messageId. Parsing itself is csv-parse's.
 */
import { createHash } from 'node:crypto';
import type { AppError, ErrorCode } from '../errors.ts';

/** Segment's limits for a profiles CSV (SEMANTICS.md §12). */
export const IMPORT_LIMITS = {
  rows: 1_000_000,
  columns: 299,
  bytes: 100 * 1024 * 1024,
} as const;

/**
 * Accounts are keyed by `group_id` (SEMANTICS.md §2); a profiles CSV has no account, so a `group_id`
 * column is an ordinary trait rather than an identifier column.
 */
const NOT_PROFILE_IDENTIFIERS = new Set(['group_id']);

/** Where an identifier column's value goes in the identify call (SEMANTICS.md §2, read backwards). */
type Slot = 'userId' | 'anonymousId' | 'email' | 'externalId';

export interface ImportHeader {
  /** The column names, in file order. */
  columns: string[];
  /** Per column: where an identifier goes, or null for a trait column. */
  slots: (Slot | null)[];
  /** The identifier columns, in file order. */
  identifierColumns: string[];
  /** A digest of the header line, part of every row's messageId. */
  digest: string;
}

/** A refusal of the file or of one row, naming the column when there is one. */
export interface ImportError {
  code: ErrorCode | 'INTERRUPTED';
  message: string;
  /** The column it is about; null when it is about no single column. */
  field: string | null;
}

/** The identifier types a file's columns may name: the space's rule types, less `group_id`. */
export function identifierTypes(ruleTypes: readonly string[]): string[] {
  return ruleTypes.filter((t) => !NOT_PROFILE_IDENTIFIERS.has(t));
}

/** The template's header line: one column per identifier type of the space, in rule priority order. */
export function templateHeader(ruleTypes: readonly string[]): string {
  // Rule types match /^[a-z0-9_.-]+$/ (src/identity/identifiers.ts): nothing in them needs quoting.
  return `${identifierTypes(ruleTypes).join(',')}\r\n`;
}

function slotOf(column: string, types: ReadonlySet<string>): Slot | null {
  if (!types.has(column)) return null;
  if (column === 'user_id') return 'userId';
  if (column === 'anonymous_id') return 'anonymousId';
  if (column === 'email') return 'email';
  return 'externalId';
}

/**
 * Segment's requirements for the header: at most 299 columns, each named, unique (case-sensitive), without
 * spaces around the name, and at least one identifier column. Column names match identifier types
 * exactly (`Email` is a trait, not the `email` identifier), as headers are case-sensitive.
 */
export function checkHeader(
  fields: readonly string[],
  ruleTypes: readonly string[],
): { ok: true; header: ImportHeader } | { ok: false; error: ImportError } {
  const types = new Set(identifierTypes(ruleTypes));
  if (fields.length > IMPORT_LIMITS.columns) {
    return refuse(
      'PAYLOAD_TOO_LARGE',
      `The header has ${fields.length} columns; at most ${IMPORT_LIMITS.columns} are allowed.`,
      fields[IMPORT_LIMITS.columns] ?? null,
    );
  }
  const seen = new Set<string>();
  for (const [index, name] of fields.entries()) {
    if (name.trim() === '') {
      return refuse('VALIDATION_FAILED', `Column ${index + 1} of the header has no name.`, null);
    }
    if (name !== name.trim()) {
      return refuse(
        'VALIDATION_FAILED',
        `The header "${name}" (column ${index + 1}) has spaces around it; remove them.`,
        name,
      );
    }
    if (seen.has(name)) {
      return refuse(
        'VALIDATION_FAILED',
        `The header "${name}" appears more than once; column names must be unique (case-sensitive).`,
        name,
      );
    }
    seen.add(name);
  }
  const slots = fields.map((f) => slotOf(f, types));
  const identifierColumns = fields.filter((_, i) => slots[i] !== null);
  if (identifierColumns.length === 0) {
    return refuse(
      'NO_IDENTIFIERS',
      `The header has no identifier column; name at least one column after an identifier type of this space: ${[...types].join(', ')}.`,
      null,
    );
  }
  const digest = createHash('sha256').update(JSON.stringify(fields), 'utf8').digest('hex');
  return { ok: true, header: { columns: [...fields], slots, identifierColumns, digest } };
}

function refuse(code: ImportError['code'], message: string, field: string | null) {
  return { ok: false as const, error: { code, message, field } };
}

/**
 * A row's messageId (docs/adr/0026): the line number, then a hash of the header, the line number and the
 * row's cells. The same row of the same file gets the same id on every upload, so a re-upload is all
 * duplicates; the line number in front makes rows validated in the same millisecond tie-break in file
 * order (SEMANTICS.md §5: ties by receivedAt, then messageId), so a later row's trait wins.
 */
export function rowMessageId(header: ImportHeader, line: number, cells: readonly string[]): string {
  const hash = createHash('sha256')
    .update(`${header.digest}\n${line}\n${JSON.stringify(cells)}`, 'utf8')
    .digest('hex')
    .slice(0, 40);
  return `csv-${String(line).padStart(9, '0')}-${hash}`;
}

/** What one row becomes: an identify call, and which column each external id came from. */
export interface RowCall {
  call: Record<string, unknown>;
  externalIdColumns: string[];
}

/** A cell that is empty or only whitespace is unknown: omitted, not null (SEMANTICS.md §12). */
const blank = (cell: string | undefined): boolean => cell === undefined || cell.trim() === '';

/**
 * One row as an identify: identifier columns to `userId`, `anonymousId`, `traits.email` or
 * `context.externalIds`; every other non-blank cell to a trait of its column's name, as the text written.
 */
export function rowToIdentify(
  header: ImportHeader,
  cells: readonly string[],
  messageId: string,
): { ok: true; row: RowCall } | { ok: false; error: ImportError } {
  const { columns } = header;
  if (cells.length !== columns.length) {
    const field = cells.length < columns.length ? (columns[cells.length] ?? null) : null;
    return refuse(
      'VALIDATION_FAILED',
      cells.length < columns.length
        ? `The row has ${cells.length} cells; the header has ${columns.length} columns (no "${field}" cell).`
        : `The row has ${cells.length} cells; the header has ${columns.length} columns.`,
      field,
    );
  }
  const call: Record<string, unknown> = { messageId };
  const traits: Record<string, string> = {};
  const externalIds: Record<string, string>[] = [];
  const externalIdColumns: string[] = [];
  let identifiers = 0;
  cells.forEach((cell, i) => {
    if (blank(cell)) return;
    const column = columns[i] as string;
    const slot = header.slots[i];
    if (slot !== null && slot !== undefined) identifiers += 1;
    switch (slot) {
      case 'userId':
      case 'anonymousId':
        call[slot] = cell;
        break;
      case 'email':
        traits.email = cell;
        break;
      case 'externalId':
        externalIds.push({ id: cell, type: column, collection: 'users', encoding: 'none' });
        externalIdColumns.push(column);
        break;
      default:
        traits[column] = cell;
    }
  });
  if (identifiers === 0) {
    return refuse(
      'NO_IDENTIFIERS',
      `The row has no identifier: every identifier cell (${header.identifierColumns.join(', ')}) is blank.`,
      header.identifierColumns.join(','),
    );
  }
  // A row identified only by an email or a custom id has neither userId nor anonymousId: the ingest path
  // accepts that for imports (IngestService.importIdentifies), the identifiers being in traits and context.
  if (Object.keys(traits).length > 0) call.traits = traits;
  if (externalIds.length > 0) call.context = { externalIds };
  return { ok: true, row: { call, externalIdColumns } };
}

/**
 * The column an ingest refusal's path points at (`['traits', 'plan']` is column `plan`); null when the
 * refusal is about the row as a whole.
 */
export function columnOfPath(path: AppError['path'], row: RowCall): string | null {
  const [first, second, third] = path;
  if (first === 'userId') return 'user_id';
  if (first === 'anonymousId') return 'anonymous_id';
  if (first === 'traits' && typeof second === 'string') return second;
  if (first === 'context' && second === 'externalIds' && typeof third === 'number')
    return row.externalIdColumns[third] ?? null;
  return null;
}
