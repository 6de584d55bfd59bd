// The parts of src/metrics/ that need no service: Neo4j's availability check and how labels are bounded.
// The metrics as a whole are checked through the real service in test/integration/metrics.test.ts.
import { describe, expect, it } from 'vitest';
import { Metrics, reachable } from '../../src/metrics/index.ts';
import type { EventOutcome } from '../../src/ingest/index.ts';

describe('reachable', () => {
  it('is 1 when the ping answers in time, 0 when it fails or takes too long', async () => {
    expect(await reachable({ ping: async () => {} }, 100)).toBe(1);
    expect(await reachable({ ping: () => Promise.reject(new Error('ServiceUnavailable')) }, 100)).toBe(0);
    const started = Date.now();
    expect(await reachable({ ping: () => new Promise(() => {}) }, 50)).toBe(0);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('Metrics', () => {
  it('counts a code outside the error vocabulary’s shape as OTHER, so input cannot add series', async () => {
    const metrics = new Metrics();
    const refused = (code: string) =>
      ({ ok: false, duplicate: false, error: { code, message: '', path: [] } }) as unknown as EventOutcome;
    metrics.ingest.outcomes([
      refused('NO_IDENTIFIERS'),
      refused('user-chosen <text>'),
      refused('x'.repeat(99)),
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('stitchgraph_ingest_events_total{outcome="refused",code="NO_IDENTIFIERS"} 1');
    expect(text).toContain('stitchgraph_ingest_events_total{outcome="refused",code="OTHER"} 2');
  });

  it('reads the deadlock count and the queue at scrape time', async () => {
    const metrics = new Metrics();
    const graph = { deadlocks: 3, ping: async () => {} };
    metrics.watchGraph(graph);
    metrics.watchQueue(() => ({ waitingRequests: 2, waitingEvents: 150, running: 4 }));
    let text = await metrics.registry.metrics();
    expect(text).toContain('stitchgraph_neo4j_deadlock_retries_total 3');
    expect(text).toContain('stitchgraph_neo4j_up 1');
    expect(text).toContain('stitchgraph_ingest_queue_requests 2');
    expect(text).toContain('stitchgraph_ingest_queue_events 150');
    expect(text).toContain('stitchgraph_ingest_transactions_running 4');
    graph.deadlocks = 5;
    text = await metrics.registry.metrics();
    expect(text).toContain('stitchgraph_neo4j_deadlock_retries_total 5');
  });
});
