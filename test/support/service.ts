// Starts the service exactly as `npm start` does, against the run's Neo4j, on a free port.
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type Service } from '../../src/service.ts';

/** `env` adds or overrides variables; `log` receives the service's log lines (default: warnings, dropped). */
export function startTestService(
  env: Record<string, string> = {},
  log?: (line: string) => void,
): Promise<Service> {
  const neo4j = inject('neo4j');
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    // Several services run in one test process: each gets a free metrics port too.
    METRICS_PORT: '0',
    NEO4J_URI: neo4j.uri,
    NEO4J_USER: neo4j.user,
    NEO4J_PASSWORD: neo4j.password,
    NEO4J_DATABASE: neo4j.database,
    DATABASE_URL: inject('postgres').url,
    ...env,
  });
  return startService(config, log ? createLogger('info', log) : createLogger('warn', () => {}));
}
