// Managed transactions only (STYLE.md §7): the driver retries transient failures (deadlocks, leader
// switches), so every unit of work passed here must be safe to run again from the start.
import type { Driver, ManagedTransaction } from 'neo4j-driver';
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

export class Graph {
  constructor(
    readonly driver: Driver,
    readonly queries: QueryRegistry,
    private readonly options: GraphOptions,
  ) {}

  read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.withSession((s) => s.executeRead((tx) => work(this.wrap(tx))));
  }

  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.withSession((s) => s.executeWrite((tx) => work(this.wrap(tx))));
  }

  /** Runs one named query in its own read transaction. */
  readOne(query: string, params: Params = {}): Promise<Row[]> {
    return this.read((tx) => tx.run(query, params));
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
