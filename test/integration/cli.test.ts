// The spaces-and-keys CLI: its commands against the real Neo4j, and the real process end to end.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCommand, UsageError } from '../../src/cli.ts';
import { createServices } from '../../src/services.ts';
import { openTestGraph, uniqueSpace, type TestGraph } from '../support/graph.ts';

let t: TestGraph;
let services: ReturnType<typeof createServices>;
beforeAll(async () => {
  t = await openTestGraph();
  services = createServices(t.graph, t.db);
});
afterAll(() => t.close());

describe('stitchgraph CLI', () => {
  it('creates a space, keys that authenticate, lists them without secrets, and revokes', async () => {
    const space = uniqueSpace('cli');
    expect(await runCommand(['spaces', 'create', space], services)).toBe(`Created space ${space}.`);
    expect(await runCommand(['spaces', 'create', space], services)).toBe(`Space ${space} already exists.`);
    expect(await runCommand(['spaces', 'list'], services)).toContain(space);

    const write = await runCommand(['keys', 'create', '--space', space, '--kind', 'write'], services);
    const token = await runCommand(
      ['keys', 'create', '--space', space, '--kind', 'token', '--scopes', 'admin', '--name', 'ops'],
      services,
    );
    const writeSecret = /Secret \(shown once, store it now\): (sgw_\S+)/.exec(write)?.[1];
    const tokenSecret = /Secret \(shown once, store it now\): (sgt_\S+)/.exec(token)?.[1];
    expect(await services.spaces.authenticate(writeSecret)).toMatchObject({
      space,
      kind: 'write',
      scopes: ['write'],
    });
    expect(await services.spaces.authenticate(tokenSecret)).toMatchObject({
      space,
      kind: 'token',
      scopes: ['admin', 'read'],
    });

    const list = await runCommand(['keys', 'list', '--space', space], services);
    expect(list.split('\n')).toHaveLength(2);
    expect(list).not.toContain(String(writeSecret));
    expect(list).not.toContain(String(tokenSecret));
    // Only the hash is stored.
    const { records } = await t.driver.executeQuery('MATCH (k:ApiKey {space: $space}) RETURN k', { space });
    expect(JSON.stringify(records.map((r) => r.toObject()))).not.toContain(String(writeSecret).slice(4));

    const keyId = /^(key_\w+)\twrite/m.exec(list)?.[1];
    expect(await runCommand(['keys', 'revoke', String(keyId)], services)).toBe(`Revoked ${keyId}.`);
    expect(await runCommand(['keys', 'list', '--space', space], services)).toMatch(/\twrite\t.*\trevoked /);
  });

  it('refuses bad commands and unknown spaces with clear messages', async () => {
    await expect(runCommand([], services)).rejects.toThrow(UsageError);
    await expect(runCommand(['keys', 'create', '--kind', 'write'], services)).rejects.toThrow(
      '--space is required',
    );
    await expect(runCommand(['spaces', 'create', 'Bad Space!'], services)).rejects.toThrow(/must match/);
    await expect(
      runCommand(['keys', 'create', '--space', 'no-such-space-x', '--kind', 'token'], services),
    ).rejects.toThrow('space "no-such-space-x" does not exist');
  });

  it('runs as a process against the configured Neo4j', async () => {
    const neo4j = inject('neo4j');
    const space = uniqueSpace('cliproc');
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/cli.ts', 'spaces', 'create', space], {
      env: {
        ...process.env,
        NEO4J_URI: neo4j.uri,
        NEO4J_USER: neo4j.user,
        NEO4J_PASSWORD: neo4j.password ?? '',
        NEO4J_DATABASE: neo4j.database,
      },
    });
    expect(stdout.trim()).toBe(`Created space ${space}.`);
  });
});
