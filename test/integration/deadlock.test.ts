// Deadlocks are retried by Graph.write after a few milliseconds (ADR 0012), not after the driver's
// second-long back-off: two transactions that lock two nodes in opposite orders both commit, each once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject, describe, expect, it } from 'vitest';
import { createDriver, retryDelayMs, Graph, QueryRegistry } from '../../src/graph/index.ts';
import { uniqueSpace } from '../support/graph.ts';

describe('deadlock retry', () => {
  it('delays grow from a few milliseconds and stay under a second', () => {
    expect(retryDelayMs(1, () => 0)).toBe(5);
    expect(retryDelayMs(1, () => 0.999)).toBeLessThan(10);
    expect(retryDelayMs(4, () => 0)).toBe(40);
    expect(retryDelayMs(20, () => 0.999)).toBeLessThan(2_000);
  });

  it('two transactions locking in opposite orders both commit, each exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sg-deadlock-'));
    const settings = inject('neo4j');
    const driver = createDriver(settings);
    try {
      await writeFile(
        join(dir, 'bump.cypher'),
        'MERGE (n:DeadlockProbe {space: $space, k: $k}) SET n.v = coalesce(n.v, 0) + 1',
      );
      const graph = new Graph(driver, await QueryRegistry.load(dir), { database: settings.database });
      const space = uniqueSpace('deadlock');
      await graph.write(async (tx) => {
        await tx.run('bump', { space, k: 'a' });
        await tx.run('bump', { space, k: 'b' });
      });
      // Both first attempts hold their first lock before either asks for its second.
      let arrived = 0;
      let release: () => void = () => {};
      const bothHoldOne = new Promise<void>((resolve) => (release = resolve));
      const attempts = { ab: 0, ba: 0 };
      const crossing = (first: string, second: string, name: 'ab' | 'ba') =>
        graph.write(async (tx) => {
          attempts[name] += 1;
          await tx.run('bump', { space, k: first });
          if (attempts[name] === 1) {
            if (++arrived === 2) release();
            await bothHoldOne;
          }
          await tx.run('bump', { space, k: second });
        });
      await Promise.all([crossing('a', 'b', 'ab'), crossing('b', 'a', 'ba')]);
      expect(graph.deadlocks).toBeGreaterThanOrEqual(1);
      expect(attempts.ab + attempts.ba).toBe(2 + graph.deadlocks);
      const { records } = await driver.executeQuery(
        'MATCH (n:DeadlockProbe {space: $space}) RETURN n.k AS k, n.v AS v ORDER BY k',
        { space },
      );
      expect(records.map((r) => [r.get('k'), r.get('v')])).toEqual([
        ['a', 3],
        ['b', 3],
      ]);
    } finally {
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
