// Issue 11 §2: a blocked-value pattern stored before patterns were checked with RE2, which RE2 cannot
// compile, is reported at start-up and flagged in identityRules, never silently ignored.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { openTestGraph, type TestGraph } from '../support/graph.ts';
import { startTestService } from '../support/service.ts';

const space = `pat-${randomUUID().slice(0, 8)}`;
let t: TestGraph;
let first: Service;
let second: Service | undefined;
let token = '';

beforeAll(async () => {
  [t, first] = await Promise.all([openTestGraph(), startTestService()]);
  await first.services.spaces.createSpace(space);
  token = (await first.services.spaces.createKey(space, 'token', { scopes: ['write', 'admin'] })).secret;
  // As an older version could store it: a lookahead, which RE2 refuses.
  await t.driver.executeQuery(
    `MATCH (:Space {id: $space})-[:HAS_RULE]->(r:IdentifierRule {type: 'user_id'})
     SET r.blockedValues = $blocked`,
    {
      space,
      blocked: JSON.stringify([
        { value: '^(?!u-)', match: 'REGEX' },
        { value: 'NULL', match: 'EXACT_IGNORE_CASE' },
      ]),
    },
  );
});
afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop(), t?.close()]);
});

describe('stored patterns RE2 cannot compile', () => {
  it('are reported at start-up', async () => {
    const lines: string[] = [];
    second = await startTestService({}, (line) => lines.push(line));
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.space === space);
    expect(warning).toMatchObject({
      level: 'warn',
      type: 'user_id',
      pattern: '^(?!u-)',
      problem: expect.stringContaining('(?!') as string,
    });
  });

  it('are flagged in identityRules, and never match', async () => {
    const res = await fetch(`${first.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ identityRules { type blockedValues { value match problem } } }' }),
    });
    const body = (await res.json()) as {
      data: { identityRules: { type: string; blockedValues: { value: string; problem: string | null }[] }[] };
    };
    const userId = body.data.identityRules.find((r) => r.type === 'user_id');
    expect(userId?.blockedValues[0]?.problem).toContain('(?!');
    expect(userId?.blockedValues[1]).toMatchObject({ value: 'NULL', problem: null });
    const sent = await first.services.ingest.send(space, 'identify', { userId: 'x-1' });
    expect(sent).toMatchObject({ ok: true, violations: [] });
  });
});
