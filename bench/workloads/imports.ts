// W9: a Profiles CSV upload (issue 16, docs/adr/0026-profiles-csv-upload.md). A file of 1,000,000 rows (quick
// mode: 20,000) is generated as it is sent and streamed to POST /v1/spaces/{space}/profiles/import in one
// request; rows/s is rows over the time from the first byte sent to the answer. Each row names a new person
// (user_id and email, three traits) in a space of its own, so every row creates a profile: the upload's
// slowest case. W2's events/s of the same run (large tracking batches) is shown beside it when W2 ran.
import { request } from 'node:http';
import { round } from '../measure.ts';
import type { RunContext } from '../settings.ts';

/** Rows of the file per mode; the full size is Segment's row limit. */
export const W9_ROWS = { quick: 20_000, full: 1_000_000 } as const;
/** Rows per write to the socket. */
const ROWS_PER_WRITE = 1_000;
const PLANS = ['free', 'pro', 'team', 'enterprise'];
const CITIES = ['Lisbon', 'Nairobi', 'Osaka', 'Lima', 'Oslo', 'Austin'];

export async function runW9(ctx: RunContext, w2: { eventsPerSec: number } | undefined) {
  const rows = W9_ROWS[ctx.mode];
  const keys = await ctx.stack.api.createSpace('bench-import');
  ctx.log(`W9: streaming a ${rows}-row CSV to the import endpoint`);
  const url = new URL(`/v1/spaces/${keys.space}/profiles/import?fileName=w9.csv`, ctx.stack.api.url);
  const started = performance.now();
  let bytes = 0;
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.adminToken}`, 'content-type': 'text/csv' },
        timeout: 60 * 60_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const send = async () => {
      const head = 'user_id,email,plan,city,signup_day\n';
      bytes += head.length;
      req.write(head);
      for (let start = 0; start < rows; start += ROWS_PER_WRITE) {
        const lines: string[] = [];
        for (let i = start; i < Math.min(rows, start + ROWS_PER_WRITE); i++) {
          lines.push(
            `w9-${i},w9-${i}@example.com,${PLANS[i % PLANS.length]},${CITIES[i % CITIES.length]},2026-${String((i % 12) + 1).padStart(2, '0')}-01`,
          );
        }
        const text = `${lines.join('\n')}\n`;
        bytes += Buffer.byteLength(text);
        // The server reads as fast as it applies rows; wait for the socket to drain like any client.
        if (!req.write(text)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    };
    send().catch(reject);
  });
  const ms = performance.now() - started;
  if (answer.status !== 200) throw new Error(`W9 upload: ${answer.status} ${answer.body.slice(0, 300)}`);
  const job = (JSON.parse(answer.body) as { job: { rows: number; applied: number; refused: number } }).job;
  const rowsPerSec = round((job.rows * 1000) / ms);
  return {
    rows: job.rows,
    applied: job.applied,
    refused: job.refused,
    fileMiB: round(bytes / 2 ** 20),
    rowsPerSec,
    ...(w2 === undefined
      ? {}
      : { w2EventsPerSec: w2.eventsPerSec, ratioToW2: round(rowsPerSec / w2.eventsPerSec) }),
  };
}
