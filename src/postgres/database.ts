// The PostgreSQL side of persistence (docs/adr/0018-event-store.md): a pool, the named queries of sql/,
// and transactions that are safe to run again. As for Neo4j (src/graph/graph.ts, ADR 0017), lost
// deadlocks and serialization failures are retried after a few milliseconds, and a server that cannot be
// reached is retried only until NEO4J_UNAVAILABLE_TIMEOUT_MS's PostgreSQL twin, counted from the outage's
// first failure, after which the caller gets ServiceUnavailableError (503 with Retry-After).
import pg from 'pg';
import { ServiceUnavailableError } from '../errors.ts';
import { SharedProbe } from '../probe.ts';
import { retryDelayMs } from '../graph/graph.ts';
import type { QueryRegistry } from '../graph/registry.ts';
import { QueryTimes } from '../graph/query-times.ts';
import { parseJson } from '../json.ts';

export type SqlRow = Record<string, unknown>;

/** A transaction as the repositories see it: a named query and its positional parameters in, rows out. */
export interface SqlTx {
  run(query: string, params?: unknown[]): Promise<SqlRow[]>;
}

export interface DatabaseOptions {
  url: string;
  /** How long statements keep trying a server that cannot be reached (ms). */
  unavailableTimeoutMs: number;
  /** Connections in the pool. */
  maxConnections?: number;
  /** Called once per statement sent; used by tests that bound round trips. */
  onQuery?: (name: string) => void;
}

/** SQLSTATEs worth running the whole transaction again for: the conflict is gone by then. */
const TRANSIENT: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '53300', // too_many_connections
]);
/** SQLSTATEs of a server that is starting, stopping or gone (the class 08 connection exceptions too). */
const UNAVAILABLE: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03']);
/** As for the graph: past this many attempts a lost conflict is answered 503 `busy`. */
const MAX_ATTEMPTS = 15;
const FRESH_MS = 1_000;

/** jsonb and json come back through the one JSON reader, so large numbers keep every digit (§8). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.JSONB || oid === pg.types.builtins.JSON)
      return (text: string) => parseJson(text);
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/** The SQLSTATE of an error the server sent (node-postgres's DatabaseError), or undefined. */
export function sqlState(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * A failure of node-postgres itself rather than of a statement: a socket error (ECONNREFUSED and its
 * kin) or a connection that ended or could not be opened in time, which it raises without any code.
 * Only errors of pool and client calls are wrapped, so a bug in a unit of work is never taken for one.
 */
export class ConnectionFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(`PostgreSQL connection failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ConnectionFailed';
  }
}

/** Awaits a call of node-postgres, turning its errors without a SQLSTATE into ConnectionFailed. */
async function client<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw sqlState(error) === undefined ? new ConnectionFailed(error) : error;
  }
}

/** Whether `error` says the server cannot be reached: a connection exception (class 08), a shutdown. */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof ConnectionFailed) return true;
  const state = sqlState(error);
  return state !== undefined && (state.startsWith('08') || UNAVAILABLE.has(state));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Database {
  /** Transactions run again after a deadlock or serialization failure, since start. */
  conflicts = 0;
  readonly pool: pg.Pool;
  /** Statements and time per named query since start (/metrics, benchmarks). */
  readonly queryTimes = new QueryTimes();
  private unreachableSince: number | null = null;
  private lastAnswerAt = 0;
  private readonly probe = new SharedProbe(() =>
    this.pool.query('SELECT 1').then(
      () => {
        this.answered();
        return true;
      },
      () => false,
    ),
  );

  constructor(
    readonly queries: QueryRegistry,
    private readonly options: DatabaseOptions,
  ) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: Math.max(500, Math.min(options.unavailableTimeoutMs, 5_000)),
      idleTimeoutMillis: 30_000,
      // Every time is read and written in UTC, whatever the server's default.
      options: '-c TimeZone=UTC',
      types,
    });
    // An idle connection that the server drops must not take the process down; the next query reconnects.
    this.pool.on('error', () => {
      this.unreachable();
    });
  }

  /** The Retry-After of an outage's refusals: the bound, in whole seconds. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.options.unavailableTimeoutMs / 1000));
  }

  /** One named statement outside any transaction (a read, or a write that is one statement). */
  query(name: string, params: unknown[] = []): Promise<SqlRow[]> {
    const text = this.queries.get(name);
    return this.retrying(async () => {
      this.options.onQuery?.(name);
      const started = performance.now();
      const result = await client(this.pool.query(text, params));
      this.queryTimes.record(name, performance.now() - started);
      return result.rows as SqlRow[];
    });
  }

  /**
   * One named read whose rows are handed over one by one as they arrive and none is kept, so a read of a
   * whole space costs memory for what the consumer keeps only (a preview, docs/adr/0022 "Preview"). No row
   * limit is sent (a cursor's would stop PostgreSQL from planning the read in parallel). `begin` is called
   * at the start of each attempt, since a retry after a dropped connection reads every row again, and gives
   * what takes each row; a consumer that throws ends the read with its error, not retried.
   */
  each(name: string, params: unknown[], begin: () => (row: SqlRow) => void): Promise<void> {
    const text = this.queries.get(name);
    return this.retrying(async () => {
      this.options.onQuery?.(name);
      const started = performance.now();
      const take = begin();
      const connection = await client(this.pool.connect());
      let broken = false;
      let refused: { error: unknown } | null = null;
      const dropped = () => {
        broken = true;
        this.unreachable();
      };
      connection.on('error', dropped);
      try {
        await client(
          new Promise<void>((resolve, reject) => {
            const query = new pg.Query<SqlRow>(text, params);
            query.on('row', (row: SqlRow) => {
              if (refused !== null) return;
              try {
                take(row);
              } catch (error) {
                refused = { error };
              }
            });
            query.on('error', reject);
            query.on('end', () => resolve());
            connection.query(query);
          }),
        );
      } catch (error) {
        broken ||= isUnreachable(error);
        throw error;
      } finally {
        connection.removeListener('error', dropped);
        connection.release(broken);
      }
      this.queryTimes.record(name, performance.now() - started);
      if (refused !== null) throw (refused as { error: unknown }).error;
    });
  }

  /**
   * Runs `work` in one transaction (READ COMMITTED), committing when it resolves and rolling back when it
   * throws. The whole function runs again after a lost conflict or a dropped connection, so it must be
   * safe to repeat: ours are, through the claims they make first (message_ids, pending_batches).
   */
  transaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      const connection = await client(this.pool.connect());
      let broken = false;
      // The pool listens for errors of idle connections only. One checked out here that loses its server
      // between statements (a shutdown's 57P01, a reset socket) emits 'error', an uncaught exception that
      // would end the process; the next statement fails instead, and the transaction runs again.
      const dropped = () => {
        broken = true;
        this.unreachable();
      };
      connection.on('error', dropped);
      try {
        await client(connection.query('BEGIN'));
        const result = await work({
          run: async (name, params = []) => {
            this.options.onQuery?.(name);
            const started = performance.now();
            const result = await client(connection.query(this.queries.get(name), params));
            this.queryTimes.record(name, performance.now() - started);
            return result.rows as SqlRow[];
          },
        });
        await client(connection.query('COMMIT'));
        return result;
      } catch (error) {
        broken ||= isUnreachable(error);
        if (!broken) await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        connection.removeListener('error', dropped);
        connection.release(broken);
      }
    });
  }

  /** Runs raw SQL text (migrations only: their files hold several statements). */
  async execute(text: string): Promise<void> {
    await this.retrying(() => client(this.pool.query(text)));
  }

  /** Whether the server answers, known within `timeoutMs` (/readyz); a recent answer is answer enough. */
  reachable(timeoutMs: number): Promise<boolean> {
    if (this.unreachableSince === null && Date.now() - this.lastAnswerAt < FRESH_MS)
      return Promise.resolve(true);
    return this.probe.within(timeoutMs);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private answered(): void {
    this.unreachableSince = null;
    this.lastAnswerAt = Date.now();
  }

  private unreachable(): void {
    this.unreachableSince ??= Date.now();
  }

  /**
   * Runs `attempt` until it succeeds: conflicts up to MAX_ATTEMPTS times, then 503 `busy`; an unreachable
   * server until the outage has lasted the bound, then 503 `unreachable`. Anything else is the caller's.
   */
  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        const result = await attempt();
        this.answered();
        return result;
      } catch (error) {
        if (isUnreachable(error)) {
          this.unreachable();
          const since = this.unreachableSince ?? Date.now();
          if (Date.now() - since >= this.options.unavailableTimeoutMs) {
            throw new ServiceUnavailableError(this.retryAfterSeconds, error, 'unreachable');
          }
          await sleep(Math.min(250, retryDelayMs(tries)));
          continue;
        }
        const state = sqlState(error);
        if (state === undefined || !TRANSIENT.has(state)) throw error;
        this.conflicts += 1;
        if (tries >= MAX_ATTEMPTS) throw new ServiceUnavailableError(this.retryAfterSeconds, error, 'busy');
        await sleep(retryDelayMs(tries));
      }
    }
  }
}
