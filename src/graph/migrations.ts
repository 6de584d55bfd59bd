// Schema migrations: every file under cypher/schema/ is an idempotent constraint or index statement
// (`IF NOT EXISTS`), applied in name order at start-up, so applying them twice changes nothing.
import type { Graph } from './graph.ts';

export const MIGRATIONS_FOLDER = 'schema/';

export async function migrate(graph: Graph): Promise<string[]> {
  const applied: string[] = [];
  for (const name of graph.queries.names().filter((n) => n.startsWith(MIGRATIONS_FOLDER))) {
    // Schema statements cannot share a transaction with other writes: one transaction each.
    await graph.write((tx) => tx.run(name));
    applied.push(name);
  }
  await graph.read((tx) => tx.run('graph/await-indexes'));
  return applied;
}
