// Managed transactions only (STYLE.md §7): the driver retries transient failures (leader switches,
// lost connections), so every unit of work passed here must be safe to run again from the start.
// Deadlocks are retried here instead, after a few milliseconds: the driver's own retry waits a second
// or more, and under concurrent ingestion that wait, not the conflict, was the cost (ADR 0012).
import neo4j, { isRetryableError, type Driver, type ManagedTransaction } from 'neo4j-driver';
import type { QueryRegistry } from './registry.ts';

export type Row = Record<string, unknown>;
export type Params = Record<string, unknown>;

/** A transaction as the repositories see it: named queries in, plain rows out. */
export interface Tx {
  run(query: string, params?: Params): Promise<Row[]>;
}

export interface GraphOptions {
  database: string;
  /** Called once per Cypher statement sent; used by tests that bound round trips. */
  onQuery?: (name: string) => void;
}

const DEADLOCK = 'Neo.TransientError.Transaction.DeadlockDetected';
/** Attempts of a write transaction that keeps losing deadlocks (about 4 s of waiting in all). */
const MAX_DEADLOCK_ATTEMPTS = 10;
/** Attempts of a single read query that keeps failing transiently (a restarting server, a lost connection). */
const MAX_READ_ATTEMPTS = 5;

/**
 * Wait before retry `attempt` of a lost deadlock or a failed read: a random 1-2x of 5 ms doubled per
 * attempt, capped at 1 s (a deadlock's winner usually commits within the first few).
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  return Math.min(1_000, 5 * 2 ** (attempt - 1)) * (1 + random());
}

/** Carries a deadlock out of the driver's retry loop (it retries only its own transient errors). */
class LockConflict extends Error {
  constructor(override readonly cause: unknown) {
    super('deadlock');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Graph {
  /** Write transactions lost to a deadlock and run again, since start (benchmarks report it). */
  deadlocks = 0;

  constructor(
    readonly driver: Driver,
    readonly queries: QueryRegistry,
    private readonly options: GraphOptions,
  ) {}

  read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.withSession((s) => s.executeRead((tx) => work(this.wrap(tx))));
  }

  async write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.withSession((s) =>
          s.executeWrite(async (tx) => {
            try {
              return await work(this.wrap(tx));
            } catch (error) {
              // Not retryable for the driver: it rolls back and hands the conflict to the loop here.
              throw errorCode(error) === DEADLOCK ? new LockConflict(error) : error;
            }
          }),
        );
      } catch (error) {
        if (!(error instanceof LockConflict)) throw error;
        if (attempt >= MAX_DEADLOCK_ATTEMPTS) throw error.cause;
        this.deadlocks += 1;
        await sleep(retryDelayMs(attempt));
      }
    }
  }

  /**
   * Runs one named read query as an auto-commit query: one Bolt round trip and one socket write, where a
   * managed transaction needs three (BEGIN, RUN and PULL, COMMIT). A read is safe to repeat, so transient
   * failures are retried here as the driver retries a managed transaction (ADR 0013).
   */
  async readOne(query: string, params: Params = {}): Promise<Row[]> {
    const text = this.queries.get(query);
    for (let attempt = 1; ; attempt++) {
      this.options.onQuery?.(query);
      const session = this.driver.session({
        database: this.options.database,
        defaultAccessMode: neo4j.session.READ,
      });
      try {
        const result = await session.run(text, params);
        return result.records.map((r) => r.toObject() as Row);
      } catch (error) {
        if (!isRetryableError(error) || attempt >= MAX_READ_ATTEMPTS) throw error;
      } finally {
        await session.close();
      }
      await sleep(retryDelayMs(attempt));
    }
  }

  async ping(): Promise<void> {
    await this.driver.executeQuery('RETURN 1', {}, { database: this.options.database });
  }

  private async withSession<T>(work: (session: ReturnType<Driver['session']>) => Promise<T>): Promise<T> {
    const session = this.driver.session({ database: this.options.database });
    try {
      return await work(session);
    } finally {
      await session.close();
    }
  }

  private wrap(tx: ManagedTransaction): Tx {
    return {
      run: async (query, params = {}) => {
        this.options.onQuery?.(query);
        const result = await tx.run(this.queries.get(query), params);
        return result.records.map((r) => r.toObject() as Row);
      },
    };
  }
}

/** Database errors are recognised by their code, never by their message (STYLE.md §8). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export const CONSTRAINT_VIOLATION = 'Neo.ClientError.Schema.ConstraintValidationFailed';
