import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, VARIABLES } from '../../src/config.ts';

describe('loadConfig', () => {
  it('has defaults for a local run', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ env: 'development', host: '127.0.0.1', port: 4000, logLevel: 'info' });
    expect(c.neo4j).toEqual({ uri: undefined, user: 'neo4j', password: undefined, database: 'neo4j' });
    expect(c.localNeo4j).toMatchObject({ boltPort: 7687, httpPort: 7474, heap: '512m', pageCache: '256m' });
    expect(c.ingest).toEqual({ writersPerSpace: 4 });
  });

  it('takes the group commit writers as a whole number of at least 1', () => {
    expect(loadConfig({ INGEST_WRITERS: '4' }).ingest.writersPerSpace).toBe(4);
    expect(() => loadConfig({ INGEST_WRITERS: '0' })).toThrow(/INGEST_WRITERS must be a whole number/);
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud', NEO4J_URI: 'http://x', NEO4J_LOCAL_HEAP: 'lots' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(4);
    expect((error as ConfigError).message).toMatch(/PORT.*\n.*LOG_LEVEL/s);
  });
});

describe('README', () => {
  it('documents every configuration variable with its default', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const v of VARIABLES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${v.name}\` |`));
      expect(row, v.name).toBeDefined();
      expect(row).toContain(v.default === undefined ? '| — |' : `| \`${v.default}\` |`);
    }
  });
});
