// npm run neo4j:fetch | neo4j:start | neo4j:stop | neo4j:status — the local Neo4j of docs/adr/0002-local-neo4j.md.
// Settings come from src/config.ts (NEO4J_LOCAL_*).

import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { fetchNeo4j, neo4jStatus, startLocalNeo4j, stopLocalNeo4j } from './launcher.ts';

const USAGE = 'usage: tsx tools/neo4j/cli.ts fetch|start|stop|status';

const log = (msg: string): void => {
  process.stderr.write(`[neo4j] ${msg}\n`);
};

async function main(command: string | undefined): Promise<number> {
  if (command === 'fetch') {
    const lib = await fetchNeo4j({ log });
    console.log(`Neo4j jars are in ${lib}`);
    return 0;
  }
  if (command !== 'start' && command !== 'stop' && command !== 'status') {
    console.error(USAGE);
    return 2;
  }
  const local = loadConfig().localNeo4j;
  const home = resolve(local.home);

  switch (command) {
    case 'start': {
      const server = await startLocalNeo4j({ ...local, home, detached: true, log });
      console.log(
        [
          `Neo4j is running${server.reused ? ' (already started earlier)' : ''}, pid ${server.pid}`,
          `  Bolt:     ${server.uri}`,
          `  Browser:  ${server.httpUrl}/browser/`,
          `  User:     ${server.user}`,
          `  Password: in ${join(home, 'password')}`,
          `  Logs:     ${join(home, 'logs')}`,
          'Stop it with: npm run neo4j:stop',
        ].join('\n'),
      );
      return 0;
    }
    case 'stop': {
      const stopped = await stopLocalNeo4j(home, { log });
      console.log(stopped ? `Stopped Neo4j for ${home}.` : `No Neo4j was running for ${home}.`);
      return 0;
    }
    case 'status': {
      const status = await neo4jStatus(home);
      if (!status.running) {
        console.log(`Neo4j is not running for ${home}.`);
        return 0;
      }
      console.log(
        [
          `Neo4j is running for ${home}, pid ${status.pid}`,
          `  Bolt:     ${status.uri ?? '(unknown)'}`,
          `  Browser:  ${status.httpUrl === undefined ? '(unknown)' : `${status.httpUrl}/browser/`}`,
        ].join('\n'),
      );
      return 0;
    }
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
