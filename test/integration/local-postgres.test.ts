// The local PostgreSQL launcher (tools/postgres/launcher.ts) against a real server of its own, apart from the
// run's test database: loopback only, the password kept in credentials.json, data kept across a restart,
// and a clear refusal to start a second server on the same data.
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPostgres, type LocalPostgres } from '../../tools/postgres/launcher.ts';
import { freePort } from '../support/ports.ts';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A fresh folder under the system's temp folder. mkdtemp makes it 0700; run as root, the server runs as
 * `postgres` and must be able to enter it.
 */
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stitchgraph-local-postgres-'));
  await chmod(dir, 0o755);
  return dir;
}

describe('startLocalPostgres', () => {
  let dir: string;
  let port: number;
  let server: LocalPostgres | undefined;

  const start = async (): Promise<LocalPostgres> => {
    server = await startLocalPostgres({ dir, port, persistent: true, sharedBuffers: '32MB' });
    return server;
  };

  beforeAll(async () => {
    dir = await tempDir();
    port = await freePort();
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts a server that answers on 127.0.0.1 only, with the password of credentials.json', async () => {
    const first = await start();
    expect(first.host).toBe('127.0.0.1');
    expect(first.port).toBe(port);
    expect(first.user).toBe('postgres');

    const [row] = await query<{
      one: number;
      addr: string;
      listen: string;
      sockets: string;
      buffers: string;
    }>(
      first.url,
      `SELECT 1 AS one, host(inet_server_addr()) AS addr,
              current_setting('listen_addresses') AS listen,
              current_setting('unix_socket_directories') AS sockets,
              current_setting('shared_buffers') AS buffers`,
    );
    expect(row).toEqual({ one: 1, addr: '127.0.0.1', listen: '127.0.0.1', sockets: '', buffers: '32MB' });

    const credentials = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8')) as unknown;
    expect(credentials).toEqual({ user: 'postgres', password: first.password });
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o777).toBe(0o600);
  });

  it('refuses a second server on the same data while the first runs, naming its pid', async () => {
    const pid = (await readFile(join(dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0];
    await expect(startLocalPostgres({ dir, port: await freePort(), persistent: true })).rejects.toThrow(
      `PostgreSQL (pid ${pid}) is already running on ${join(dir, 'data')}`,
    );
    // The running server is unharmed.
    expect(await query(server!.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('refuses a port that is in use, naming the port and LOCAL_POSTGRES_PORT', async () => {
    const other = await tempDir();
    try {
      await expect(startLocalPostgres({ dir: other, port, persistent: false })).rejects.toThrow(
        new RegExp(`Port ${port} .*in use.*LOCAL_POSTGRES_PORT`),
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('refuses a shared_buffers PostgreSQL would not read, naming LOCAL_POSTGRES_SHARED_BUFFERS', async () => {
    const other = await tempDir();
    try {
      await expect(
        startLocalPostgres({ dir: other, port: await freePort(), persistent: false, sharedBuffers: '4g' }),
      ).rejects.toThrow(
        /shared_buffers must be a whole number of kB, MB, GB or TB .*"4g".*LOCAL_POSTGRES_SHARED_BUFFERS/,
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('keeps data and password across a stop and a start from the same folder', async () => {
    const first = server!;
    await query(first.url, 'CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)');
    await first.stop();
    await first.stop(); // idempotent
    await expect(query(first.url, 'SELECT 1')).rejects.toThrow();

    const second = await start();
    expect(second.password).toBe(first.password);
    expect(second.url).toBe(first.url);
    expect(await query(second.url, 'SELECT id FROM kept')).toEqual([{ id: 42 }]);
  });
});
