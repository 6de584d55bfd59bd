// W8's delivery phase (issue 14: "webhook deliveries per second to a local receiver"; docs/adr/0023): a
// webhook destination connected to every audience of the main space, whose initial sync queues one
// identify per current member, delivered to a receiver in this process. Deliveries per second are the
// distinct webhook ids the receiver accepted over the window that starts with the first one. Beside it,
// the raw baseline of the same run: the same receiver taking signed POSTs of the same size straight from
// the service's own sending function (src/destinations/webhook.ts), as many at once as the service sends,
// with no outbox, no lease and no PostgreSQL.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { sendWebhook, signedHeaders } from '../../src/destinations/webhook.ts';
import type { ApiClient } from '../client.ts';
import { round } from '../measure.ts';
import type { RunContext } from '../settings.ts';

/** Requests in flight in the raw baseline: as many as the service sends at once (DestinationSettings.concurrency). */
const CONCURRENCY = 16;
/** How long each half measures at most. */
const WINDOW_MS: Record<RunContext['mode'], number> = { quick: 15_000, full: 60_000 };
/** A sample call of the size the service sends (an identify with context.personas). */
const SAMPLE_BODY = JSON.stringify({
  type: 'identify',
  messageId: 'bench-sample-0000000000000000000000000000',
  userId: 'bench-user-000000',
  traits: { bench_audience_key: true },
  context: {
    personas: {
      computation_class: 'audience',
      computation_key: 'bench_audience_key',
      computation_id: 'bench_audience_key',
      space_id: 'bench-space',
    },
  },
  timestamp: new Date(0).toISOString(),
});

const CREATE = `mutation ($input: CreateWebhookDestinationInput!) {
  createWebhookDestination(input: $input) { ok signingSecret initialSyncQueued destination { id } errors { code message } }
}`;
const DELETE = `mutation ($id: ID!) { deleteDestination(id: $id) { deleted } }`;

interface Receiver {
  url: string;
  /** Distinct webhook ids accepted, with when the first of each arrived (ms, performance.now()). */
  seen: Map<string, number>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const seen = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      if (!seen.has(id)) seen.set(id, performance.now());
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The raw baseline: signed POSTs of SAMPLE_BODY's size, CONCURRENCY at a time, for the window. */
async function rawBaseline(receiver: Receiver, windowMs: number): Promise<number> {
  const secret = `whsec_${Buffer.from(randomUUID()).toString('base64')}`;
  const end = performance.now() + windowMs;
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const id = randomUUID();
        const outcome = await sendWebhook(
          receiver.url,
          signedHeaders(secret, id, SAMPLE_BODY, new Date()),
          SAMPLE_BODY,
          {
            timeoutMs: 10_000,
            allowPrivate: true,
          },
        );
        if (!outcome.ok) throw new Error(`raw baseline POST: ${outcome.error ?? outcome.status}`);
        sent += 1;
      }
    }),
  );
  return sent / ((performance.now() - t0) / 1000);
}

/**
 * Connects a destination to `audienceKeys` (identify mode) and times its initial sync's deliveries; then
 * deletes it. Needs the API started with DESTINATION_SECRET_KEY and private URLs allowed (api-process.ts).
 */
export async function timeDeliveries(ctx: RunContext, admin: ApiClient, audienceKeys: string[]) {
  const windowMs = WINDOW_MS[ctx.mode];
  const receiver = await startReceiver();
  try {
    ctx.log(`W8: raw baseline, signed POSTs to a local receiver (${CONCURRENCY} at a time)`);
    const rawPerSec = await rawBaseline(receiver, windowMs / 2);
    receiver.seen.clear();

    ctx.log(`W8: a webhook destination for ${audienceKeys.length} audiences, initial sync`);
    const created = await admin.graphql<{
      createWebhookDestination: {
        ok: boolean;
        initialSyncQueued: number | null;
        destination: { id: string } | null;
        errors: { code: string; message: string }[];
      };
    }>(CREATE, {
      input: { name: 'bench W8', url: receiver.url, audiences: audienceKeys, modes: ['IDENTIFY'] },
    });
    const answer = created.createWebhookDestination;
    if (!answer.ok || answer.destination === null)
      throw new Error(`createWebhookDestination: ${JSON.stringify(answer.errors)}`);
    const queued = answer.initialSyncQueued ?? 0;
    const started = performance.now();
    // Until every queued call arrived or the window passed (counted from the first arrival).
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const first = Math.min(...receiver.seen.values());
      if (receiver.seen.size >= queued) break;
      if (receiver.seen.size > 0 && performance.now() - first >= windowMs) break;
      if (receiver.seen.size === 0 && performance.now() - started >= 60_000)
        throw new Error('W8: no delivery arrived within a minute of connecting the destination');
    }
    const times = [...receiver.seen.values()].sort((a, b) => a - b);
    const first = times[0] ?? started;
    const last = times[times.length - 1] ?? started;
    const delivered = times.length;
    const seconds = Math.max((last - first) / 1000, 0.001);
    await admin.graphql(DELETE, { id: answer.destination.id });
    const perSec = delivered / seconds;
    return {
      deliveriesPerSec: round(perSec),
      rawSignedPostsPerSec: round(rawPerSec),
      ratioToRaw: round(perSec / rawPerSec),
      initialSyncQueued: queued,
      delivered,
      seconds: round(seconds),
      firstDeliveryAfterSeconds: round((first - started) / 1000),
      concurrency: CONCURRENCY,
    };
  } finally {
    await receiver.close();
  }
}
