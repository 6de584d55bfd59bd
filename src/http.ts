// Small HTTP helpers shared by the service's routes (GraphQL, the Segment tracking API, the Profile API).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringifyJson } from './json.ts';

/** A set of routes another module serves on the same port. */
export interface HttpRoute {
  /** True when this route answers the request. */
  matches(url: URL, req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** The matched route's pattern for metrics, from a closed set: never the raw path (ADR 0016). */
  pattern(url: URL): string;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(stringifyJson(body));
}

/** The body as text, or null when it exceeds `limit` bytes (the rest is not read into memory). */
export async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) return null;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The secret a request presents: `Authorization: Bearer <secret>`, or HTTP Basic with the secret as the
 * user name (Segment's convention for write keys and Profile API tokens; the password is ignored).
 */
export function presentedSecret(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (value === undefined) return null;
  if (/^bearer$/i.test(scheme ?? '')) return value;
  if (/^basic$/i.test(scheme ?? '')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    return user === '' ? null : user;
  }
  return null;
}
