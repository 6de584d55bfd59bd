// The graph layer against the real Neo4j: migrations are idempotent and every Cypher file compiles.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate, MIGRATIONS_FOLDER } from '../../src/graph/index.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';

let t: TestGraph;
beforeAll(async () => {
  t = await openTestGraph();
});
afterAll(() => t.close());

describe('migrations', () => {
  it('apply twice without error and leave the same constraints and indexes', async () => {
    const first = await migrate(t.graph);
    const schemaAfterFirst = await describeSchema(t);
    const second = await migrate(t.graph);
    expect(second).toEqual(first);
    expect(await describeSchema(t)).toEqual(schemaAfterFirst);
    expect(schemaAfterFirst.constraints).toEqual(
      expect.arrayContaining(['account_key', 'applied_batch_id', 'identifier_key', 'profile_id', 'space_id']),
    );
    // Events live in PostgreSQL (docs/adr/0018-event-store.md): no Event schema in the graph.
    expect(schemaAfterFirst.constraints).not.toContain('event_message_id');
    expect(schemaAfterFirst.indexes).not.toContain('event_timestamp');
  });
});

describe('cypher/', () => {
  it('every query file passes EXPLAIN against the database', async () => {
    await migrate(t.graph);
    const names = t.graph.queries.names().filter((n) => !n.startsWith(MIGRATIONS_FOLDER));
    expect(names.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const name of names) {
      const session = t.driver.session();
      try {
        await session.run(`EXPLAIN ${t.graph.queries.get(name)}`);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      } finally {
        await session.close();
      }
    }
    expect(failures).toEqual([]);
  });

  it('every query file starts with a header naming itself, its parameters and what it returns', () => {
    for (const name of t.graph.queries.names()) {
      const text = t.graph.queries.get(name);
      expect(text.startsWith('//'), name).toBe(true);
      if (!name.startsWith(MIGRATIONS_FOLDER)) {
        expect(text, name).toMatch(/\/\/ params:/);
        expect(text, name).toMatch(/\/\/ returns:/);
      }
    }
  });
});

async function describeSchema(t: TestGraph): Promise<{ constraints: string[]; indexes: string[] }> {
  const constraints = await t.driver.executeQuery('SHOW CONSTRAINTS YIELD name RETURN name ORDER BY name');
  const indexes = await t.driver.executeQuery(
    "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name ORDER BY name",
  );
  return {
    constraints: constraints.records.map((r) => String(r.get('name'))),
    indexes: indexes.records.map((r) => String(r.get('name'))),
  };
}

describe('local Neo4j', () => {
  const browserUrl = inject('neo4j').browserUrl;
  // Only the instance the run starts itself is ours to check; an external NEO4J_URI has no known Browser.
  it.runIf(browserUrl !== null)('serves Neo4j Browser', async () => {
    const res = await fetch(String(browserUrl));
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<title>Neo4j Browser<\/title>/);
  });
});
