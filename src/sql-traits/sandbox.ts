// Where a SQL trait's query runs (docs/adr/0025-sql-traits.md): on the trait's sync target, read-only,
// with a statement timeout and a row cap, and nothing else reachable. The query is the user's and is run
// as given; everything of ours around it is a named statement with parameters.
//
// PostgreSQL: a READ ONLY transaction, statement_timeout set for it alone, the query through a cursor
// (the extended protocol: one statement only) read up to cap + 1 rows; first, a check that the connection
// sees neither the event store's tables nor another target's (a target in the event store's database, or
// beside another space's, would expose them). DuckDB: the file opened in read-only access mode with
// external access (files, network, extensions) off and the configuration locked, one statement that must
// be a SELECT, interrupted at the timeout, read up to cap + 1 rows.
import { DuckDBInstance, DuckDBTypeId, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { join } from 'node:path';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { QueryRegistry } from '../graph/registry.ts';
import { sqlState } from '../postgres/database.ts';
import type { TargetKind } from '../sync/index.ts';
import { TARGETS_DIR } from '../sync/index.ts';
import type { ColumnKind, ResultColumn } from './contract.ts';

export interface SandboxLimits {
  /** The longest the query may run (ms). */
  timeoutMs: number;
  /** The most rows a result may have; one more refuses the run. */
  maxRows: number;
}

export type SandboxCode =
  | 'QUERY_FAILED'
  | 'QUERY_TIMEOUT'
  | 'TOO_MANY_ROWS'
  | 'WRITE_REFUSED'
  | 'MULTIPLE_STATEMENTS'
  | 'TARGET_UNREACHABLE'
  | 'TARGET_NOT_ISOLATED';

export type SandboxResult =
  | { ok: true; columns: ResultColumn[]; rows: unknown[][] }
  | { ok: false; code: SandboxCode; message: string };

/** The named statements the sandbox runs on a PostgreSQL target (sql/targets/postgres/). */
const POSTGRES_QUERIES = ['sql-trait-isolation', 'sql-trait-timeout'] as const;
let postgresStatements: Promise<QueryRegistry> | undefined;
function statements(): Promise<QueryRegistry> {
  postgresStatements ??= QueryRegistry.load(join(TARGETS_DIR, 'postgres'), POSTGRES_QUERIES, {
    extension: '.sql',
  });
  return postgresStatements;
}

const CONNECT_TIMEOUT_MS = 5_000;

export function runSandboxed(
  kind: TargetKind,
  location: string,
  query: string,
  limits: SandboxLimits,
): Promise<SandboxResult> {
  return kind === 'duckdb' ? runDuckDb(location, query, limits) : runPostgres(location, query, limits);
}

/** A trailing semicolon is part of how people write one statement; it is not a second one. */
function oneStatement(query: string): string {
  return query.trim().replace(/;\s*$/, '');
}

/** PostgreSQL type oids read as strings and numbers; every other type is unsupported. */
const PG_KINDS = new Map<number, { kind: ColumnKind; type: string }>([
  [25, { kind: 'string', type: 'text' }],
  [1043, { kind: 'string', type: 'varchar' }],
  [1042, { kind: 'string', type: 'char' }],
  [19, { kind: 'string', type: 'name' }],
  [705, { kind: 'string', type: 'unknown' }],
  [21, { kind: 'number', type: 'smallint' }],
  [23, { kind: 'number', type: 'integer' }],
  [20, { kind: 'number', type: 'bigint' }],
  [700, { kind: 'number', type: 'real' }],
  [701, { kind: 'number', type: 'double precision' }],
  [1700, { kind: 'number', type: 'numeric' }],
]);
const PG_NAMES = new Map<number, string>([
  [16, 'boolean'],
  [114, 'json'],
  [3802, 'jsonb'],
  [1082, 'date'],
  [1114, 'timestamp'],
  [1184, 'timestamptz'],
  [2950, 'uuid'],
  [17, 'bytea'],
]);

async function runPostgres(url: string, query: string, limits: SandboxLimits): Promise<SandboxResult> {
  const queries = await statements();
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    options: '-c TimeZone=UTC',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return { ok: false, code: 'TARGET_UNREACHABLE', message: messageOf(error) };
  }
  try {
    await client.query('BEGIN READ ONLY');
    const [isolation] = (await client.query(queries.get('sql-trait-isolation'))).rows as {
      event_store: number;
      other_targets: number;
    }[];
    if ((isolation?.event_store ?? 0) > 0 || (isolation?.other_targets ?? 0) > 0)
      return {
        ok: false,
        code: 'TARGET_NOT_ISOLATED',
        message:
          (isolation?.event_store ?? 0) > 0
            ? "this target's connection can read the event store's tables; give the target a database (or a role) of its own"
            : "this target's connection can read another sync target's tables; give the target a database (or a role) of its own",
      };
    await client.query(queries.get('sql-trait-timeout'), [String(limits.timeoutMs)]);
    // Values come as the server's text: numbers are judged exact by the contract, not rounded here.
    const cursor = client.query(
      new Cursor(oneStatement(query), [], { rowMode: 'array', types: { getTypeParser: () => asText } }),
    );
    const { rows, fields } = await new Promise<{ rows: unknown[][]; fields: pg.FieldDef[] }>(
      (resolve, reject) => {
        cursor.read(limits.maxRows + 1, (error, rows, result) => {
          // pg-cursor passes null, not undefined, when the read succeeded.
          if (error !== undefined && error !== null) reject(error);
          else resolve({ rows: rows as unknown[][], fields: result.fields });
        });
      },
    );
    await cursor.close();
    await client.query('ROLLBACK');
    if (rows.length > limits.maxRows) return tooMany(limits);
    return {
      ok: true,
      columns: fields.map((f) => {
        const known = PG_KINDS.get(f.dataTypeID);
        return {
          name: f.name,
          kind: known?.kind ?? 'unsupported',
          type: known?.type ?? PG_NAMES.get(f.dataTypeID) ?? `oid ${f.dataTypeID}`,
        };
      }),
      rows,
    };
  } catch (error) {
    const state = sqlState(error);
    if (state === '57014')
      return {
        ok: false,
        code: 'QUERY_TIMEOUT',
        message: `the query ran longer than ${limits.timeoutMs} ms and was cancelled`,
      };
    if (state === '25006') return { ok: false, code: 'WRITE_REFUSED', message: messageOf(error) };
    if (state === undefined) return { ok: false, code: 'TARGET_UNREACHABLE', message: messageOf(error) };
    return { ok: false, code: 'QUERY_FAILED', message: messageOf(error) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** DuckDB type ids read as strings and numbers. */
const DUCK_KINDS = new Map<DuckDBTypeId, ColumnKind>([
  [DuckDBTypeId.VARCHAR, 'string'],
  [DuckDBTypeId.SQLNULL, 'string'],
  [DuckDBTypeId.TINYINT, 'number'],
  [DuckDBTypeId.SMALLINT, 'number'],
  [DuckDBTypeId.INTEGER, 'number'],
  [DuckDBTypeId.BIGINT, 'number'],
  [DuckDBTypeId.UTINYINT, 'number'],
  [DuckDBTypeId.USMALLINT, 'number'],
  [DuckDBTypeId.UINTEGER, 'number'],
  [DuckDBTypeId.UBIGINT, 'number'],
  [DuckDBTypeId.HUGEINT, 'number'],
  [DuckDBTypeId.UHUGEINT, 'number'],
  [DuckDBTypeId.FLOAT, 'number'],
  [DuckDBTypeId.DOUBLE, 'number'],
  [DuckDBTypeId.DECIMAL, 'number'],
]);

async function runDuckDb(path: string, query: string, limits: SandboxLimits): Promise<SandboxResult> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, {
      access_mode: 'READ_ONLY',
      enable_external_access: 'false',
      autoload_known_extensions: 'false',
      autoinstall_known_extensions: 'false',
      lock_configuration: 'true',
      threads: '1',
    });
  } catch (error) {
    return { ok: false, code: 'TARGET_UNREACHABLE', message: messageOf(error) };
  }
  let connection: DuckDBConnection | undefined;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    connection = await instance.connect();
    const c = connection;
    const extracted = await c.extractStatements(query);
    if (extracted.count !== 1)
      return {
        ok: false,
        code: 'MULTIPLE_STATEMENTS',
        message: `the query holds ${extracted.count} statements; give one SELECT`,
      };
    const prepared = await extracted.prepare(0);
    if (prepared.statementType !== StatementType.SELECT)
      return {
        ok: false,
        code: 'WRITE_REFUSED',
        message: 'SQL traits run read-only: the query must be one SELECT',
      };
    timer = setTimeout(() => {
      timedOut = true;
      c.interrupt();
    }, limits.timeoutMs);
    const reader = await prepared.streamAndReadUntil(limits.maxRows + 1);
    clearTimeout(timer);
    const types = reader.columnTypes();
    const names = reader.columnNames();
    const rows = reader.getRowsJson() as unknown[][];
    if (rows.length > limits.maxRows) return tooMany(limits);
    return {
      ok: true,
      columns: names.map((name, i) => {
        const type = types[i];
        return {
          name,
          kind: (type === undefined ? undefined : DUCK_KINDS.get(type.typeId)) ?? 'unsupported',
          type: type?.toString() ?? 'unknown',
        };
      }),
      rows,
    };
  } catch (error) {
    if (timedOut)
      return {
        ok: false,
        code: 'QUERY_TIMEOUT',
        message: `the query ran longer than ${limits.timeoutMs} ms and was interrupted`,
      };
    return { ok: false, code: 'QUERY_FAILED', message: messageOf(error) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    connection?.closeSync();
    instance.closeSync();
  }
}

const asText = (text: string) => text;

function tooMany(limits: SandboxLimits): SandboxResult {
  return {
    ok: false,
    code: 'TOO_MANY_ROWS',
    message: `the query returns more than ${limits.maxRows} rows (SQL_TRAIT_MAX_ROWS)`,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
