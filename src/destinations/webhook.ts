// Sending one signed webhook request (docs/adr/0023-webhook-destinations.md): a POST of the JSON body with
// the Standard Webhooks headers (`webhook-id`: the call's messageId, the same on every retry;
// `webhook-timestamp`; `webhook-signature`, made by the `standardwebhooks` package with the destination's
// secret). Connections go through the SSRF guard unless private addresses are allowed; redirects are not
// followed; any 2xx is a success, anything else (or no answer within the timeout) a failure to retry.
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { addressRefusal, guardedLookup, hostOf } from './url-guard.ts';

export interface SendOutcome {
  ok: boolean;
  /** The HTTP status, or null when no answer came. */
  status: number | null;
  /** Why it failed (the status and the start of the answer, or the connection error); null when ok. */
  error: string | null;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

const ANSWER_BYTES = 512;

export function signedHeaders(
  secret: string,
  messageId: string,
  body: string,
  now: Date,
): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(messageId, now, body),
  };
}

export function sendWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: SendOptions,
): Promise<SendOutcome> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return Promise.resolve({ ok: false, status: null, error: 'the URL does not parse' });
  }
  const host = hostOf(url);
  if (!options.allowPrivate && isIP(host) !== 0) {
    // Node does not look up a literal address: it is judged here.
    const why = addressRefusal(host);
    if (why !== null) return Promise.resolve({ ok: false, status: null, error: `refused: ${why}` });
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const requestOptions: RequestOptions = {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'stitchgraph-webhooks',
      ...headers,
    },
    timeout: options.timeoutMs,
    ...(options.allowPrivate ? {} : { lookup: guardedLookup as unknown as RequestOptions['lookup'] }),
  };
  return new Promise((resolve) => {
    let settled = false;
    // The whole exchange, not just an idle socket, is bounded by the timeout.
    const timer = setTimeout(() => {
      late();
      req.destroy();
    }, options.timeoutMs);
    const done = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = request(url, requestOptions, (res) => {
      const status = res.statusCode ?? 0;
      let answer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (answer.length < ANSWER_BYTES) answer += chunk;
      });
      res.on('end', () => {
        const ok = status >= 200 && status < 300;
        done({
          ok,
          status,
          error: ok ? null : `HTTP ${status}${answer === '' ? '' : `: ${answer.slice(0, ANSWER_BYTES)}`}`,
        });
      });
      res.on('error', (error) => done({ ok: false, status, error: error.message }));
      // A response cut off before its end is a failure too (a no-op after 'end').
      res.on('close', () => done({ ok: false, status, error: 'the answer was cut off' }));
    });
    const late = () => done({ ok: false, status: null, error: `no answer within ${options.timeoutMs} ms` });
    req.on('timeout', () => {
      late();
      req.destroy();
    });
    req.on('error', (error) => done({ ok: false, status: null, error: error.message }));
    req.end(body);
  });
}
