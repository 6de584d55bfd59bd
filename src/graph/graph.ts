// Managed transactions only (STYLE.md §7): every unit of work passed here must be safe to run again
// from the start. The retries are ours, not the driver's (ADR 0017): deadlocks after a few milliseconds
// (the driver's own retry waits a second or more, and under concurrent ingestion that wait, not the
// conflict, was the cost; ADR 0012), other transient failures likewise, and an unreachable database
// only until a deadline, after which the caller gets ServiceUnavailableError (503 with Retry-After)
// instead of waiting for a minute.
import neo4j, { isRetryableError, type Driver, type ManagedTransaction } from 'neo4j-driver';
import { ServiceUnavailableError } from '../errors.ts';
import { SharedProbe } from '../probe.ts';
import { DEFAULT_UNAVAILABLE_TIMEOUT_MS } from './driver.ts';
import { QueryTimes } from './query-times.ts';
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
  /**
   * How long statements keep trying a database that cannot be reached (NEO4J_UNAVAILABLE_TIMEOUT_MS),
   * counted from the first failure of the outage, not per statement.
   */
  unavailableTimeoutMs?: number;
}

const DEADLOCK = 'Neo.TransientError.Transaction.DeadlockDetected';
/**
 * Codes that mean the database cannot be reached (STYLE.md §8: by code, never by message): the driver's
 * own for a connection that cannot be opened or was lost, and the server's for a database that is
 * starting or stopping.
 */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  neo4j.error.SERVICE_UNAVAILABLE,
  neo4j.error.SESSION_EXPIRED,
  'Neo.TransientError.General.DatabaseUnavailable',
]);
/**
 * Attempts of a write transaction that keeps losing deadlocks or failing transiently (about 10 s); past
 * them a lost deadlock is answered 503 `busy` with Retry-After, never 500: the client did nothing wrong.
 */
const MAX_WRITE_ATTEMPTS = 15;
/** Attempts of a single read query that keeps failing transiently (a restarting server, a lost connection). */
const MAX_READ_ATTEMPTS = 5;
/** A statement answered this recently says the database is reachable; /readyz need not ask again. */
const FRESH_MS = 1_000;

/**
 * Wait before retry `attempt` of a lost deadlock or a failed read: a random 1-2x of 5 ms doubled per
 * attempt, capped at 1 s (a deadlock's winner usually commits within the first few).
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  return Math.min(1_000, 5 * 2 ** (attempt - 1)) * (1 + random());
}

/** Whether `error` says the database cannot be reached (ADR 0017). */
export function isUnavailable(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && UNAVAILABLE_CODES.has(code);
}

/**
 * Carries an error of the work function out of the driver's retry loop, which would retry a transient
 * one after a second; the loop in Graph decides instead.
 */
class WorkFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('transaction work failed');
  }
}

/** An attempt given up on: its transaction, should it begin after all, runs no statement. */
class Abandoned extends Error {
  constructor() {
    super('attempt abandoned: the database did not answer');
  }
}

/** One try at a unit of work; `live()` turns false once the try has been given up on. */
type Attempt<T> = (live: () => boolean) => Promise<T>;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Graph {
  /** Write transactions lost to a deadlock and run again, since start (benchmarks report it). */
  deadlocks = 0;
  /** Statements and time per named query since start (/metrics, benchmarks). */
  readonly queryTimes = new QueryTimes();
  /** When the current outage was first seen (ms since the epoch); null while statements succeed. */
  private unreachableSince: number | null = null;
  private lastAnswerAt = 0;
  private readonly probe = new SharedProbe(() =>
    this.ping().then(
      () => true,
      () => false,
    ),
  );
  /** Attempts in flight that began while the database answered: an outage arms their deadline. */
  private readonly onOutage = new Set<() => void>();
  private readonly unavailableTimeoutMs: number;

  constructor(
    readonly driver: Driver,
    readonly queries: QueryRegistry,
    private readonly options: GraphOptions,
  ) {
    this.unavailableTimeoutMs = options.unavailableTimeoutMs ?? DEFAULT_UNAVAILABLE_TIMEOUT_MS;
  }

  /** The Retry-After that an outage's refusals carry: the bound, in whole seconds. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.unavailableTimeoutMs / 1000));
  }

  read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.retrying(MAX_WRITE_ATTEMPTS, (live) =>
      this.withSession((s) => s.executeRead((tx) => this.guard(work, tx, live))),
    );
  }

  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.retrying(MAX_WRITE_ATTEMPTS, (live) =>
      this.withSession((s) => s.executeWrite((tx) => this.guard(work, tx, live))),
    );
  }

  /**
   * Runs one named read query as an auto-commit query: one Bolt round trip and one socket write, where a
   * managed transaction needs three (BEGIN, RUN and PULL, COMMIT). A read is safe to repeat, so transient
   * failures are retried here as for a managed transaction (ADR 0013).
   */
  readOne(query: string, params: Params = {}): Promise<Row[]> {
    const text = this.queries.get(query);
    return this.retrying(MAX_READ_ATTEMPTS, async () => {
      this.options.onQuery?.(query);
      const session = this.driver.session({
        database: this.options.database,
        defaultAccessMode: neo4j.session.READ,
      });
      try {
        const started = performance.now();
        const result = await session.run(text, params);
        this.queryTimes.record(query, performance.now() - started);
        return result.records.map((r) => r.toObject() as Row);
      } finally {
        await session.close();
      }
    });
  }

  /** One round trip, no retry: resolves when the database answers, rejects with the driver's error. */
  async ping(): Promise<void> {
    const session = this.driver.session({
      database: this.options.database,
      defaultAccessMode: neo4j.session.READ,
    });
    try {
      await session.run('RETURN 1');
      this.answered();
    } catch (error) {
      if (isUnavailable(error)) this.unreachable();
      throw error;
    } finally {
      await session.close();
    }
  }

  /**
   * Whether the database answers, known within `timeoutMs` (/readyz). A statement answered within the
   * last second is answer enough; otherwise one ping, shared by every caller that asks meanwhile, so a
   * burst of probes costs one round trip and a database that hangs costs `timeoutMs`, not the driver's
   * timeouts.
   */
  reachable(timeoutMs: number): Promise<boolean> {
    if (this.unreachableSince === null && Date.now() - this.lastAnswerAt < FRESH_MS) {
      return Promise.resolve(true);
    }
    return this.probe.within(timeoutMs);
  }

  /**
   * Runs `attempt` until it succeeds. Deadlocks and other transient failures are retried up to
   * `maxAttempts` times. An unreachable database is retried until the outage has lasted the bound,
   * counted from its first failure, so that every request of one outage is refused by the same moment
   * and a request that arrives later makes one attempt only: it is answered at once while the database
   * stays away, and succeeds as soon as it is back.
   */
  private async retrying<T>(maxAttempts: number, attempt: Attempt<T>): Promise<T> {
    let failures = 0;
    for (;;) {
      try {
        const result = await this.bounded(attempt);
        this.answered();
        return result;
      } catch (thrown) {
        const error = thrown instanceof WorkFailed ? thrown.cause : thrown;
        if (error instanceof ServiceUnavailableError) throw error;
        failures += 1;
        const wait = retryDelayMs(Math.min(failures, 10));
        if (isUnavailable(error)) {
          const deadline = this.unreachable() + this.unavailableTimeoutMs;
          if (Date.now() + wait >= deadline) throw new ServiceUnavailableError(this.retryAfterSeconds, error);
        } else if (!isRetryableError(error)) {
          throw error;
        } else if (failures >= maxAttempts) {
          if (errorCode(error) === DEADLOCK) throw new ServiceUnavailableError(1, error, 'busy');
          throw error;
        } else if (errorCode(error) === DEADLOCK) {
          this.deadlocks += 1;
        }
        await sleep(wait);
      }
    }
  }

  /**
   * One attempt, given up on when the database is unreachable and the attempt has not settled within the
   * bound of its start or of the outage's, whichever is later. A server that accepts connections without
   * answering (one that is starting, or shutting down) holds a transaction's BEGIN for as long as it
   * takes, past every timeout of the driver; the request is answered 503 meanwhile. An attempt that began
   * while the database answered runs as long as it needs unless an outage is seen: a slow transaction is
   * not an outage. Given up, its transaction runs no statement should it begin after all.
   */
  private async bounded<T>(attempt: Attempt<T>): Promise<T> {
    let abandoned = false;
    const running = attempt(() => !abandoned);
    let timer: NodeJS.Timeout | undefined;
    let arm: (() => void) | undefined;
    const givenUp = new Promise<never>((_, reject) => {
      arm = () => {
        timer = setTimeout(() => {
          if (this.unreachableSince === null) {
            // The database is back, so this one is only slow; a later outage arms it again.
            if (arm !== undefined) this.onOutage.add(arm);
            return;
          }
          abandoned = true;
          reject(new ServiceUnavailableError(this.retryAfterSeconds, new Abandoned()));
        }, this.unavailableTimeoutMs);
      };
      if (this.unreachableSince === null) this.onOutage.add(arm);
      else arm();
    });
    try {
      return await Promise.race([running, givenUp]);
    } finally {
      clearTimeout(timer);
      if (arm !== undefined) this.onOutage.delete(arm);
    }
  }

  /** Runs the work, handing any failure to `retrying` rather than to the driver's retry loop. */
  private async guard<T>(
    work: (tx: Tx) => Promise<T>,
    tx: ManagedTransaction,
    live: () => boolean,
  ): Promise<T> {
    let result: T;
    try {
      result = await work(this.wrap(tx, live));
    } catch (error) {
      throw new WorkFailed(error);
    }
    // Given up on while it ran: roll back rather than commit what nobody will be told of.
    if (!live()) throw new WorkFailed(new Abandoned());
    return result;
  }

  private answered(): void {
    this.unreachableSince = null;
    this.lastAnswerAt = Date.now();
  }

  /** Records a failure to reach the database; returns when the outage began. */
  private unreachable(): number {
    if (this.unreachableSince === null) {
      this.unreachableSince = Date.now();
      for (const arm of this.onOutage) arm();
      this.onOutage.clear();
    }
    return this.unreachableSince;
  }

  private async withSession<T>(work: (session: ReturnType<Driver['session']>) => Promise<T>): Promise<T> {
    const session = this.driver.session({ database: this.options.database });
    try {
      return await work(session);
    } finally {
      await session.close();
    }
  }

  private wrap(tx: ManagedTransaction, live: () => boolean): Tx {
    return {
      run: async (query, params = {}) => {
        if (!live()) throw new Abandoned();
        this.options.onQuery?.(query);
        const started = performance.now();
        const result = await tx.run(this.queries.get(query), params);
        this.queryTimes.record(query, performance.now() - started);
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
