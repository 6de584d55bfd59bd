// Starts test/support/crash-service.ts in a child process against the run's Neo4j (and the run's
// PostgreSQL database unless `env` names another), for tests that kill it with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { inject } from 'vitest';

export interface CrashChild {
  url: string;
  child: ChildProcess;
  /** The signal that ended the process, or its exit code. */
  exited: Promise<string>;
  /** What the process wrote on stderr so far (its log lines, warnings and up). */
  stderr(): string;
}

/** Resolves once the child prints `READY <url>`; rejects if it exits first. */
export async function startCrashChild(env: Record<string, string>): Promise<CrashChild> {
  const neo4j = inject('neo4j');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/crash-service.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PORT: '0',
      METRICS_PORT: '0',
      NEO4J_URI: neo4j.uri,
      NEO4J_USER: neo4j.user,
      NEO4J_PASSWORD: neo4j.password ?? '',
      NEO4J_DATABASE: neo4j.database,
      DATABASE_URL: inject('postgres').url,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve(line.slice('READY '.length));
    });
    void exited.then((how) =>
      reject(new Error(`crash service exited (${how}) before it was ready:\n${errors}`)),
    );
  });
  return { url, child, exited, stderr: () => errors };
}
