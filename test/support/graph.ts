// Integration-test access to the run's Neo4j and PostgreSQL. Isolation: every test makes its own space with a unique id,
// so tests in parallel files never see each other's identifiers, profiles or events.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { Driver } from 'neo4j-driver';
import { createDriver, Graph, QueryRegistry } from '../../src/graph/index.ts';
import { REQUIRED_QUERIES } from '../../src/service.ts';
import type { Database } from '../../src/postgres/database.ts';
import { openTestDatabase } from './postgres.ts';

export interface TestGraph {
  driver: Driver;
  graph: Graph;
  /** The run's event store database (docs/adr/0018-event-store.md), migrated by the global setup. */
  db: Database;
  /** Statements sent through `graph` and `db` since the last reset, by query name. */
  queries: string[];
  close(): Promise<void>;
}

export async function openTestGraph(): Promise<TestGraph> {
  const settings = inject('neo4j');
  const driver = createDriver(settings);
  const registry = await QueryRegistry.load(undefined, REQUIRED_QUERIES);
  const queries: string[] = [];
  const graph = new Graph(driver, registry, { database: settings.database, onQuery: (q) => queries.push(q) });
  const db = await openTestDatabase((q) => queries.push(q));
  return {
    driver,
    graph,
    db,
    queries,
    close: async () => {
      await driver.close();
      await db.close();
    },
  };
}

export function uniqueSpace(label = 'test'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
