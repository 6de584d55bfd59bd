// A webhook receiver for the destination tests: node:http on 127.0.0.1 at a free port, recording each
// request and answering as the test says (e.g. 500 for a while). Signatures are verified with the
// `standardwebhooks` package and the secret the test gives it once createWebhookDestination has shown it
// (the initial sync may arrive before that), so each call keeps its raw body and headers.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface ReceivedCall {
  /** The `webhook-id` header. */
  id: string;
  /** The parsed body. */
  body: Record<string, unknown>;
  /** The body as sent, and the signature headers. */
  raw: string;
  headers: Record<string, string>;
  /** The answer's status. */
  status: number;
  /** When it arrived (ms since epoch). */
  at: number;
}

export interface Receiver {
  url: string;
  /** Every request so far, in arrival order. */
  calls: ReceivedCall[];
  /** Whether a call's signature verifies with the secret set (and its timestamp is recent). */
  verified(call: ReceivedCall): boolean;
  /** Those answered 2xx. */
  accepted(): ReceivedCall[];
  /** Sets the secret signatures are verified with. */
  setSecret(secret: string): void;
  /** Sets how a request is answered (default 200). */
  respond(answer: (call: Omit<ReceivedCall, 'status'>, attempt: number) => number): void;
  close(): Promise<void>;
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

export async function startReceiver(): Promise<Receiver> {
  let webhook: Webhook | null = null;
  let answer: (call: Omit<ReceivedCall, 'status'>, attempt: number) => number = () => 200;
  const calls: ReceivedCall[] = [];
  const attempts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void read(req).then((text) => {
      const headers: Record<string, string> = {};
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'])
        headers[name] = String(req.headers[name] ?? '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { unparsed: text };
      }
      const id = headers['webhook-id'] ?? '';
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const call = { id, body, raw: text, headers, at: Date.now() };
      const status = answer(call, attempt);
      calls.push({ ...call, status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'receiver says no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    calls,
    verified: (call) => {
      if (webhook === null) return false;
      try {
        webhook.verify(call.raw, call.headers);
        return true;
      } catch {
        return false;
      }
    },
    accepted: () => calls.filter((c) => c.status < 300),
    setSecret: (secret) => (webhook = new Webhook(secret)),
    respond: (fn) => (answer = fn),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
