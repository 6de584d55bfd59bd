// `npm run graph:check [-- --space ID]`: checks the identity graph's invariants against the configured
// Neo4j (NEO4J_URI, or the local one when it is running) and exits non-zero when any is broken.
import { loadConfig } from '../src/config.ts';
import { createDriver, Graph, QueryRegistry } from '../src/graph/index.ts';
import { checkInvariants, INVARIANT_CHECKS, REVIEW_LISTS, reviewLists } from '../src/identity/index.ts';
import { neo4jStatus, readLocalCredentials } from './neo4j/launcher.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const spaceIndex = process.argv.indexOf('--space');
  const space = spaceIndex > 0 ? process.argv[spaceIndex + 1] : undefined;
  let settings = { uri: config.neo4j.uri ?? '', user: config.neo4j.user, password: config.neo4j.password };
  if (config.neo4j.uri === undefined) {
    const status = await neo4jStatus(config.localNeo4j.home);
    if (!status.running || status.uri === undefined) {
      throw new Error(
        'NEO4J_URI is not set and no local Neo4j is running (start one with `npm run neo4j:start`).',
      );
    }
    settings = { uri: status.uri, ...(await readLocalCredentials(config.localNeo4j.home)) };
  }
  const driver = createDriver(settings);
  try {
    const graph = new Graph(
      driver,
      await QueryRegistry.load(undefined, [...INVARIANT_CHECKS, ...REVIEW_LISTS]),
      {
        database: config.neo4j.database,
      },
    );
    const results = await checkInvariants(graph, space);
    let broken = 0;
    for (const r of results) {
      broken += r.count;
      const status = r.count === 0 ? 'ok  ' : 'FAIL';
      console.log(
        `${status} ${r.check}: ${r.count}${r.examples.length ? ` (e.g. ${r.examples.join(', ')})` : ''}`,
      );
    }
    console.log(broken === 0 ? 'graph is sound' : `${broken} problem(s) found`);
    // Listed for a person's review; they do not make the check fail (docs/adr/0014-input-hygiene.md).
    for (const r of await reviewLists(graph, space)) {
      console.log(
        `${r.count === 0 ? 'ok  ' : 'LIST'} ${r.check}: ${r.count}${r.examples.length ? ` (e.g. ${r.examples.join(', ')})` : ''}`,
      );
    }
    process.exitCode = broken === 0 ? 0 : 1;
  } finally {
    await driver.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
});
