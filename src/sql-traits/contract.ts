// Segment's SQL-traits query contract (SEMANTICS.md §11, docs/adr/0025-sql-traits.md), as pure functions:
// which column is the identifier, which columns become traits, which rows are sent, and the messageIds
// that make a run's identifies idempotent. The sandbox (sandbox.ts) reads the rows; nothing here touches
// a database.
import { createHash } from 'node:crypto';
import { normaliseIdentifier } from '../identity/index.ts';

export type SqlTraitLevel = 'USERS' | 'ACCOUNTS';

/** The identifier columns a query may return, by level; when several are present the first listed wins. */
export const ID_COLUMNS: Record<SqlTraitLevel, readonly string[]> = {
  USERS: ['user_id', 'email', 'anonymous_id'],
  ACCOUNTS: ['group_id'],
};

/** Segment's limits: columns of a result (the identifier included) and the bytes of one record's JSON. */
export const MAX_COLUMNS = 25;
export const MAX_RECORD_BYTES = 16 * 1024;

/** What a column's database type is read as: Segment takes strings and numbers only. */
export type ColumnKind = 'string' | 'number' | 'unsupported';

export interface ResultColumn {
  name: string;
  kind: ColumnKind;
  /** The database's name of the type, for messages. */
  type: string;
}

export type ContractCode =
  | 'NO_ID_COLUMN'
  | 'TOO_MANY_COLUMNS'
  | 'DUPLICATE_COLUMN'
  | 'UNSUPPORTED_COLUMN_TYPE'
  | 'NULL_ID'
  | 'DUPLICATE_ID';

export interface ContractRefusal {
  ok: false;
  code: ContractCode;
  message: string;
}

export interface Shape {
  ok: true;
  /** Index and name of the identifier column. */
  id: { index: number; name: string };
  /** The trait columns, by index, in result order. */
  traits: { index: number; name: string }[];
}

/** Judges a result's columns (before any row): one identifier column, at most 25, strings and numbers. */
export function checkColumns(
  level: SqlTraitLevel,
  columns: readonly ResultColumn[],
): Shape | ContractRefusal {
  const candidates = ID_COLUMNS[level];
  const idName = candidates.find((name) => columns.some((c) => c.name === name));
  if (idName === undefined)
    return {
      ok: false,
      code: 'NO_ID_COLUMN',
      message: `the query must return an identifier column: ${candidates.join(', ')}`,
    };
  if (columns.length > MAX_COLUMNS)
    return {
      ok: false,
      code: 'TOO_MANY_COLUMNS',
      message: `the query returns ${columns.length} columns; at most ${MAX_COLUMNS} are allowed (the identifier included)`,
    };
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name))
      return {
        ok: false,
        code: 'DUPLICATE_COLUMN',
        message: `the query returns two columns named ${JSON.stringify(column.name)}; name each trait once`,
      };
    seen.add(column.name);
    if (column.kind === 'unsupported')
      return {
        ok: false,
        code: 'UNSUPPORTED_COLUMN_TYPE',
        message: `column ${JSON.stringify(column.name)} has type ${column.type}; trait values are strings or numbers (cast it, e.g. to text)`,
      };
  }
  const index = columns.findIndex((c) => c.name === idName);
  return {
    ok: true,
    id: { index, name: idName },
    traits: columns.flatMap((c, i) => (i === index ? [] : [{ index: i, name: c.name }])),
  };
}

export type RowCode = 'RECORD_TOO_LARGE' | 'INVALID_VALUE';

/** A row of a result that passed the contract: its identifier and its traits (null: remove the trait). */
export interface TraitRow {
  id: string;
  traits: Record<string, string | number | null>;
}

export interface ReadRows {
  ok: true;
  rows: TraitRow[];
  /** Rows refused alone, by identifier: they are neither sent nor taken as absent. */
  refused: { id: string; code: RowCode; message: string }[];
}

/**
 * Reads raw rows (arrays in column order) against a shape. A null or blank identifier and an identifier
 * twice refuse the whole result, since which row stands for a profile would be a guess; a record over
 * 16 KB of JSON, or a number a double cannot hold exactly, refuses its row alone.
 */
export function readRows(
  level: SqlTraitLevel,
  shape: Shape,
  columns: readonly ResultColumn[],
  raw: readonly (readonly unknown[])[],
): ReadRows | ContractRefusal {
  const rows: TraitRow[] = [];
  const refused: ReadRows['refused'] = [];
  const seen = new Set<string>();
  for (const [n, values] of raw.entries()) {
    const id = idValue(values[shape.id.index]);
    if (id === null)
      return {
        ok: false,
        code: 'NULL_ID',
        message: `row ${n + 1} has no ${shape.id.name}; every row needs one`,
      };
    const key = sameIdKey(level, shape.id.name, id);
    if (seen.has(key))
      return {
        ok: false,
        code: 'DUPLICATE_ID',
        message: `${shape.id.name} ${JSON.stringify(id)} is on more than one row; return each identifier once`,
      };
    seen.add(key);
    const traits: TraitRow['traits'] = {};
    let problem: ReadRows['refused'][number] | null = null;
    for (const trait of shape.traits) {
      const value = traitValue(values[trait.index], columns[trait.index]?.kind ?? 'string');
      if (value === undefined) {
        problem = {
          id,
          code: 'INVALID_VALUE',
          message: `${trait.name} is a number a double cannot hold exactly`,
        };
        break;
      }
      traits[trait.name] = value;
    }
    if (problem === null) {
      const bytes = Buffer.byteLength(JSON.stringify({ [shape.id.name]: id, ...traits }), 'utf8');
      if (bytes >= MAX_RECORD_BYTES)
        problem = {
          id,
          code: 'RECORD_TOO_LARGE',
          message: `the record of ${shape.id.name} ${JSON.stringify(id)} is ${bytes} bytes of JSON; records must be under ${MAX_RECORD_BYTES} bytes`,
        };
    }
    if (problem === null) rows.push({ id, traits });
    else refused.push(problem);
  }
  return { ok: true, rows, refused };
}

/** An identifier's text: strings trimmed, whole numbers as decimals; null when missing or blank. */
function idValue(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? String(raw) : null;
  if (typeof raw === 'bigint') return raw.toString();
  const text = String(raw).trim();
  return text === '' ? null : text;
}

/** Two identifiers that resolution takes for one (emails compare normalised, SEMANTICS.md §8). */
function sameIdKey(level: SqlTraitLevel, column: string, id: string): string {
  if (level === 'USERS' && column === 'email') return normaliseIdentifier('email', id)?.value ?? id;
  return id;
}

/** A trait value as sent: strings as they are, numbers exact (undefined when a double would round). */
function traitValue(raw: unknown, kind: ColumnKind): string | number | null | undefined {
  if (raw === null || raw === undefined) return null;
  if (kind === 'number') {
    const value = typeof raw === 'number' ? raw : Number(String(raw));
    if (!Number.isFinite(value)) return undefined;
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) return undefined;
    return value;
  }
  return String(raw);
}

/** What a run sends: rows new or changed since the last run, and identifiers absent from this one. */
export interface Changes {
  changed: TraitRow[];
  removed: TraitRow[];
}

/**
 * Compares a run's rows with the values last sent. A removed identifier gets every trait it was last sent
 * set to null (SEMANTICS.md §5: null removes a trait). Identifiers whose row was refused alone keep what
 * they had.
 */
export function diff(
  previous: ReadonlyMap<string, Record<string, unknown>>,
  rows: readonly TraitRow[],
  keep: ReadonlySet<string>,
): Changes {
  const present = new Set(rows.map((r) => r.id));
  const changed = rows.filter((r) => {
    const before = previous.get(r.id);
    return before === undefined || canonical(before) !== canonical(r.traits);
  });
  const removed: TraitRow[] = [];
  for (const [id, before] of previous) {
    if (present.has(id) || keep.has(id)) continue;
    removed.push({ id, traits: Object.fromEntries(Object.keys(before).map((k) => [k, null])) });
  }
  return { changed, removed };
}

/** JSON with sorted keys, so that equal trait sets compare equal whatever their column order. */
export function canonical(traits: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(traits)
      .sort()
      .map((k) => [k, traits[k]]),
  );
}

/**
 * The messageId of a call for one identifier: a hash of the trait, the run its values are compared with
 * (`basis`: the latest SUCCEEDED run before this one, 0 for none), the identifier and the traits sent. A
 * run that died after sending and the run after it share their basis, so the second sends the rows the
 * first did not record as duplicates the event store drops; a later run (another basis) sending the same
 * values again, as after a removal, is a new event.
 */
export function sqlTraitMessageId(
  key: string,
  basis: number,
  idColumn: string,
  id: string,
  traits: Record<string, unknown>,
): string {
  const hash = createHash('sha256').update(
    `${key}\u0000${basis}\u0000${idColumn}\u0000${id}\u0000${canonical(traits)}`,
    'utf8',
  );
  return `sql-trait-${hash.digest('hex').slice(0, 40)}`;
}

/**
 * The identify call that carries a user-level row (an account-level row is written on the account, not
 * sent: docs/adr/0025-sql-traits.md).
 */
export function callOf(
  key: string,
  run: { run: number; basis: number },
  idColumn: string,
  row: TraitRow,
): Record<string, unknown> {
  const messageId = sqlTraitMessageId(key, run.basis, idColumn, row.id, row.traits);
  const context = {
    personas: { computation_class: 'sql_trait', computation_key: key, computation_run: run.run },
  };
  if (idColumn === 'user_id')
    return { type: 'identify', userId: row.id, traits: row.traits, messageId, context };
  if (idColumn === 'anonymous_id')
    return { type: 'identify', anonymousId: row.id, traits: row.traits, messageId, context };
  // email: the identifier is the email trait (SEMANTICS.md §2), written with the row's traits.
  return { type: 'identify', traits: { ...row.traits, email: row.id }, messageId, context };
}
