import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, VARIABLES } from '../../src/config.ts';

describe('loadConfig', () => {
  it('has defaults for a local run', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ env: 'development', host: '127.0.0.1', port: 4000, logLevel: 'info' });
    expect(c.neo4j).toEqual({
      uri: undefined,
      user: 'neo4j',
      password: undefined,
      database: 'neo4j',
      unavailableTimeoutMs: 5000,
    });
    expect(c.localNeo4j).toMatchObject({ boltPort: 7687, httpPort: 7474, heap: '512m', pageCache: '256m' });
    expect(c.ingest).toEqual({ writersPerSpace: 4 });
  });

  it('takes the group commit writers as a whole number of at least 1', () => {
    expect(loadConfig({ INGEST_WRITERS: '4' }).ingest.writersPerSpace).toBe(4);
    expect(() => loadConfig({ INGEST_WRITERS: '0' })).toThrow(/INGEST_WRITERS must be a whole number/);
  });

  it('serves metrics on 127.0.0.1:9464 unless told otherwise; off serves none', () => {
    expect(loadConfig({}).metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(loadConfig({ METRICS_PORT: '0', METRICS_HOST: '::1' }).metrics).toEqual({ port: 0, host: '::1' });
    expect(loadConfig({ METRICS_PORT: 'off' }).metrics.port).toBeUndefined();
    expect(() => loadConfig({ METRICS_PORT: 'no' })).toThrow(/METRICS_PORT must be a port number .* or off/);
    expect(() => loadConfig({ METRICS_HOST: 'a b' })).toThrow(
      /METRICS_HOST must be an IP address or a host name/,
    );
    expect(() => loadConfig({ PORT: '9000', METRICS_PORT: '9000' })).toThrow(
      /METRICS_PORT must differ from PORT/,
    );
    expect(loadConfig({ PORT: '0', METRICS_PORT: '0' }).metrics.port).toBe(0);
  });

  it('takes the bound on an unreachable Neo4j in milliseconds, at least 1', () => {
    expect(loadConfig({ NEO4J_UNAVAILABLE_TIMEOUT_MS: '2500' }).neo4j.unavailableTimeoutMs).toBe(2500);
    expect(() => loadConfig({ NEO4J_UNAVAILABLE_TIMEOUT_MS: '5s' })).toThrow(
      /NEO4J_UNAVAILABLE_TIMEOUT_MS must be a whole number/,
    );
  });

  it("takes the local PostgreSQL's shared_buffers in PostgreSQL's units, and refuses others", () => {
    expect(loadConfig({}).localPostgres.sharedBuffers).toBe('128MB');
    expect(loadConfig({ LOCAL_POSTGRES_SHARED_BUFFERS: '4GB' }).localPostgres.sharedBuffers).toBe('4GB');
    for (const bad of ['4g', '512', '0MB', '1.5GB', '4 GB'])
      expect(() => loadConfig({ LOCAL_POSTGRES_SHARED_BUFFERS: bad }), bad).toThrow(
        /LOCAL_POSTGRES_SHARED_BUFFERS must be a whole number of kB, MB, GB or TB/,
      );
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
