// The Segment-compatible tracking API (issue #5; docs/adr/0007-tracking-api.md): the HTTP paths Segment's
// libraries post to, on the same port as GraphQL. Events go through the ingest service, which validates,
// dedupes and commits each one in a Neo4j transaction before we answer, so a 200 is never lost.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip } from 'node:zlib';
import type { TrackingConfig } from '../config.ts';
import { ServiceUnavailableError, type AppError } from '../errors.ts';
import { presentedSecret, sendJson, type HttpRoute } from '../http.ts';
import { parseJson } from '../json.ts';
import type { Logger } from '../log.ts';
import type { Services } from '../services.ts';
import type { Principal } from '../spaces/index.ts';
import { LIMITS, isPlainObject, type EventType } from './event.ts';
import type { BatchOutcome, EventOutcome } from './ingest.service.ts';
import { RateLimiter } from './rate-limit.ts';

export interface TrackingApiDeps {
  services: Services;
  logger: Logger;
  config: TrackingConfig;
}

type Call = EventType | 'batch';

/**
 * `/v1/<call>` as Segment's HTTP API documents it, and the one-letter paths analytics.js (analytics-next)
 * posts to: `${apiHost}/${type.charAt(0)}` per event and `${apiHost}/b` for batches, apiHost ending in /v1.
 */
const CALLS: ReadonlyMap<string, Call> = new Map<string, Call>([
  ['identify', 'identify'],
  ['track', 'track'],
  ['page', 'page'],
  ['screen', 'screen'],
  ['group', 'group'],
  ['alias', 'alias'],
  ['batch', 'batch'],
  ['i', 'identify'],
  ['t', 'track'],
  ['p', 'page'],
  ['s', 'screen'],
  ['g', 'group'],
  ['a', 'alias'],
  ['b', 'batch'],
]);
const CALL_PATH = /^\/v1\/([a-z]+)\/?$/;
/** Where analytics.js fetches its settings: `${cdnURL}/v1/projects/${writeKey}/settings`. */
const SETTINGS_PATH = /^\/v1\/projects\/([^/]+)\/settings\/?$/;

/**
 * Raw body caps (after gzip is undone): twice the JSON limits of SEMANTICS.md §1, so that indented JSON
 * still reaches the validators, which measure the compact JSON exactly; anything larger is not buffered.
 */
const BODY_CAP = { event: 2 * LIMITS.eventBytes, batch: 2 * LIMITS.batchBytes } as const;
/** Past this many received bytes an over-size upload is cut off instead of drained. */
const DRAIN_CAP = 8 * BODY_CAP.batch;
const PREFLIGHT_MAX_AGE = '7200';
const DEFAULT_ALLOWED_HEADERS = 'authorization, content-type, x-retry-count';

export function trackingApi(deps: TrackingApiDeps): HttpRoute {
  const { services, logger, config } = deps;
  const limiter = new RateLimiter({ perSecond: config.rateLimit, burst: config.rateBurst });

  return {
    matches(url) {
      const call = CALL_PATH.exec(url.pathname)?.[1];
      return (call !== undefined && CALLS.has(call)) || SETTINGS_PATH.test(url.pathname);
    },
    pattern(url) {
      const call = CALL_PATH.exec(url.pathname)?.[1] ?? '';
      return CALLS.has(call) ? `/v1/${call}` : '/v1/projects/:writeKey/settings';
    },
    async handle(req, res, url) {
      allowOrigin(req, res);
      try {
        await route(req, res, url);
      } catch (error) {
        if (!(error instanceof ServiceUnavailableError) || res.headersSent) throw error;
        // SEMANTICS.md §7: an unreachable database is an outage, not an error of ours; nothing of this
        // request was acknowledged, and analytics.js and analytics-node send it again (ADR 0017).
        drain(req);
        refuse(res, 503, 'SERVICE_UNAVAILABLE', error.message, [], {
          'retry-after': String(error.retryAfterSeconds),
        });
      }
    },
  };

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const settingsKey = SETTINGS_PATH.exec(url.pathname)?.[1];
    if (settingsKey !== undefined) return settings(req, res, settingsKey);
    const call = CALLS.get(CALL_PATH.exec(url.pathname)?.[1] ?? '');
    if (call === undefined) return refuse(res, 404, 'NOT_FOUND', `No route for ${url.pathname}`);
    if (req.method === 'OPTIONS') return preflight(req, res, 'POST, OPTIONS');
    if (req.method !== 'POST') {
      return refuse(res, 405, 'BAD_REQUEST', `Send events with POST, not ${req.method}`, [], {
        allow: 'POST, OPTIONS',
      });
    }
    return events(req, res, call);
  }

  async function events(req: IncomingMessage, res: ServerResponse, call: Call): Promise<void> {
    // A key in the Authorization header is checked before the body is read; a body writeKey after.
    const headerSecret = presentedSecret(req);
    let principal: Principal | null = null;
    if (headerSecret !== null) {
      principal = await services.spaces.authenticate(headerSecret);
      if (!mayWrite(res, principal)) return drain(req);
    }

    const read = await readBodyCapped(req, call === 'batch' ? BODY_CAP.batch : BODY_CAP.event);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      const what = call === 'batch' ? 'a batch 500 KB' : 'an event 32 KB';
      return refuse(
        res,
        400,
        'PAYLOAD_TOO_LARGE',
        `The request body is over ${read.limit} bytes; ${what} of JSON is the limit.`,
      );
    }
    if (read.kind === 'bad-encoding') {
      return refuse(res, 400, 'BAD_REQUEST', `The body could not be decoded: ${read.reason}`);
    }

    let body: unknown;
    try {
      // Integers too long for a double keep their digits (SEMANTICS.md §8, src/json.ts).
      body = parseJson(read.text.replace(/^\uFEFF/, ''));
    } catch {
      return refuse(res, 400, 'BAD_REQUEST', 'The request body is not valid JSON.');
    }
    if (!isPlainObject(body)) {
      return refuse(res, 400, 'VALIDATION_FAILED', 'The request body must be a JSON object.');
    }

    if (principal === null) {
      const writeKey = typeof body.writeKey === 'string' ? body.writeKey : null;
      principal = await services.spaces.authenticate(writeKey);
      if (!mayWrite(res, principal)) return;
    }

    const cost =
      call === 'batch' && Array.isArray(body.batch) ? Math.min(body.batch.length, LIMITS.batchEvents) : 1;
    const rate = limiter.take(principal.keyId, cost);
    if (!rate.ok) {
      logger.debug('tracking API rate limited', { key: principal.keyId, space: principal.space });
      return refuse(
        res,
        429,
        'RATE_LIMITED',
        `Over ${config.rateLimit} events per second for this write key; retry after ${rate.retryAfterSeconds} s.`,
        [],
        { 'retry-after': String(rate.retryAfterSeconds) },
      );
    }

    if (call === 'batch') return answerBatch(res, await services.ingest.batch(principal.space, body));
    return answerEvent(res, await services.ingest.send(principal.space, call, body));
  }

  /**
   * True for a write key; otherwise answers 401 or 403. Write keys only (ADR 0017): an access token is
   * an operator's secret, and a browser that once held one could send it here on its own. The 401 names
   * no Basic scheme, so a browser never prompts for credentials and never keeps them for this origin.
   */
  function mayWrite(res: ServerResponse, principal: Principal | null): principal is Principal {
    if (principal === null) {
      refuse(
        res,
        401,
        'UNAUTHENTICATED',
        'A write key is required: send it as the HTTP Basic user name (empty password) or as writeKey in the body.',
        [],
        { 'www-authenticate': 'Bearer realm="stitchgraph"' },
      );
      return false;
    }
    if (principal.kind !== 'write') {
      refuse(
        res,
        403,
        'FORBIDDEN',
        'The tracking API (/v1) accepts write keys only, not access tokens; send events with a write key, or with an access token through GraphQL.',
      );
      return false;
    }
    return true;
  }

  /**
   * The project settings analytics.js loads before anything else. They name this server as the
   * Segment.io destination's apiHost, so a page pointed at us (cdnURL) sends nowhere else, and they turn
   * the library's own metrics off.
   */
  async function settings(req: IncomingMessage, res: ServerResponse, encodedKey: string): Promise<void> {
    if (req.method === 'OPTIONS') return preflight(req, res, 'GET, HEAD, OPTIONS');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(res, 405, 'BAD_REQUEST', `Read settings with GET, not ${req.method}`, [], {
        allow: 'GET, HEAD, OPTIONS',
      });
    }
    let writeKey: string;
    try {
      writeKey = decodeURIComponent(encodedKey);
    } catch {
      writeKey = '';
    }
    const principal = await services.spaces.authenticate(writeKey);
    if (principal === null || principal.kind !== 'write') {
      return refuse(res, 404, 'NOT_FOUND', 'No project settings for this write key.');
    }
    const { protocol, apiHost } = apiLocation(req);
    sendJson(
      res,
      200,
      {
        integrations: {
          'Segment.io': { apiKey: writeKey, apiHost, protocol, addBundledMetadata: false },
        },
        plan: {},
        enabledMiddleware: {},
        metrics: { sampleRate: 0, host: apiHost },
        remotePlugins: [],
        legacyVideoPluginsEnabled: false,
      },
      // Built from the request's Host, so no shared cache may keep it for another client.
      { 'cache-control': 'no-store' },
    );
  }

  /** Where browsers post events: TRACKING_PUBLIC_URL, else the host this request reached. */
  function apiLocation(req: IncomingMessage): { protocol: 'http' | 'https'; apiHost: string } {
    if (config.publicUrl !== undefined) {
      const url = new URL(config.publicUrl);
      const path = url.pathname.replace(/\/+$/, '');
      return { protocol: url.protocol === 'https:' ? 'https' : 'http', apiHost: `${url.host}${path}/v1` };
    }
    const hostHeader = req.headers.host ?? '';
    const host = /^[A-Za-z0-9.\-[\]:]+$/.test(hostHeader)
      ? hostHeader
      : `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? ''}`;
    const forwarded = String(req.headers['x-forwarded-proto'] ?? '')
      .split(',')[0]
      ?.trim();
    return { protocol: forwarded === 'https' ? 'https' : 'http', apiHost: `${host}/v1` };
  }
}

function answerEvent(res: ServerResponse, outcome: EventOutcome): void {
  if (outcome.ok) {
    // No profile id or violations: a write key is public in browsers, and those would tell its holder
    // which identifiers already belong to someone.
    return sendJson(res, 200, {
      success: true,
      messageId: outcome.messageId,
      duplicate: outcome.duplicate,
      ...suppressedOf(outcome),
      ...warningsOf(outcome),
    });
  }
  sendJson(res, 400, { success: false, error: outcome.error });
}

/**
 * SEMANTICS.md §7, §12: an event carrying a suppressed identifier is answered 200 as accepted, so SDKs
 * neither retry nor log errors, with `suppressed: true` (shown only then: Segment's shape otherwise).
 */
function suppressedOf(outcome: EventOutcome): { suppressed?: true } {
  return outcome.suppressed ? { suppressed: true } : {};
}

/** SEMANTICS.md §7, §8: fields not trusted, shown only when there are some (Segment's shape otherwise). */
function warningsOf(outcome: EventOutcome): { warnings?: EventOutcome['warnings'] } {
  return outcome.warnings.length > 0 ? { warnings: outcome.warnings } : {};
}

/** SEMANTICS.md §1 Batches: valid items are applied, every item's outcome is reported, in order. */
function answerBatch(res: ServerResponse, outcome: BatchOutcome): void {
  if (outcome.error !== null) return sendJson(res, 400, { success: false, error: outcome.error });
  const results = outcome.results.map((r) => ({
    ok: r.ok,
    messageId: r.messageId,
    duplicate: r.duplicate,
    ...suppressedOf(r),
    error: r.error,
    ...warningsOf(r),
  }));
  const summary = {
    applied: outcome.applied,
    duplicates: outcome.duplicates,
    ...(outcome.suppressed > 0 ? { suppressed: outcome.suppressed } : {}),
    refused: outcome.refused,
  };
  const firstRefused = outcome.results.findIndex((r) => !r.ok);
  const first = outcome.results[firstRefused]?.error;
  if (first === undefined || first === null)
    return sendJson(res, 200, { success: true, ...summary, results });
  const error: AppError = {
    code: first.code,
    message: `${outcome.refused} of ${outcome.results.length} events were refused (the other ${
      outcome.results.length - outcome.refused
    } were applied or were duplicates); the first, batch[${firstRefused}]: ${first.message}`,
    path: first.path,
  };
  sendJson(res, 400, { success: false, error, ...summary, results });
}

function refuse(
  res: ServerResponse,
  status: number,
  code: AppError['code'] | 'BAD_REQUEST',
  message: string,
  path: AppError['path'] = [],
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { success: false, error: { code, message, path } }, headers);
}

/**
 * Browsers post from any site that embeds analytics.js. The write key is public there, so every origin
 * may call; but nothing a browser sends on its own (cookies, cached HTTP credentials) may count, so
 * credentials are never allowed (ADR 0017). analytics.js sends none.
 */
function allowOrigin(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('vary', 'Origin');
  const origin = req.headers.origin;
  if (origin === undefined) return;
  res.setHeader('access-control-allow-origin', origin);
}

function preflight(req: IncomingMessage, res: ServerResponse, methods: string): void {
  const requested = req.headers['access-control-request-headers'];
  // Echo what the page asks for (analytics.js lets a site add its own headers); only header-name text.
  const headers =
    requested !== undefined && /^[A-Za-z0-9_\-, ]{1,500}$/.test(requested)
      ? requested
      : DEFAULT_ALLOWED_HEADERS;
  res.statusCode = 204;
  res.setHeader('access-control-allow-methods', methods);
  res.setHeader('access-control-allow-headers', headers);
  res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE);
  res.end();
}

type BodyRead =
  | { kind: 'text'; text: string }
  | { kind: 'too-large'; limit: number }
  | { kind: 'bad-encoding'; reason: string }
  | { kind: 'aborted' };

/**
 * The body as text, undoing `Content-Encoding: gzip` (Segment's server libraries may compress). Over
 * `limit` bytes nothing more is kept; the rest is drained so the client still reads our answer, up to
 * DRAIN_CAP, past which the connection is cut.
 */
function readBodyCapped(req: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: BodyRead) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') {
      afterEnd(req, () =>
        settle({ kind: 'bad-encoding', reason: `unsupported content-encoding ${encoding}` }),
      );
      return;
    }
    let received = 0;
    let over = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const gunzip = encoding === 'gzip' ? createGunzip() : null;

    const overLimit = () => {
      over = true;
      chunks.length = 0;
      if (gunzip !== null) {
        // Stop decompressing (a small upload can inflate enormously); keep draining the raw bytes.
        req.unpipe(gunzip);
        gunzip.destroy();
        afterEnd(req, () => settle({ kind: 'too-large', limit }));
      }
    };
    const collect = (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) overLimit();
      else chunks.push(chunk);
    };

    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > DRAIN_CAP) {
        settle({ kind: 'too-large', limit });
        req.destroy();
      }
    });
    req.on('error', () => settle({ kind: 'aborted' }));
    req.on('close', () => {
      if (!req.complete) settle({ kind: 'aborted' });
    });
    if (gunzip === null) {
      req.on('data', collect);
      req.on('end', () =>
        settle(
          over
            ? { kind: 'too-large', limit }
            : { kind: 'text', text: Buffer.concat(chunks).toString('utf8') },
        ),
      );
      return;
    }
    gunzip.on('data', collect);
    gunzip.on('error', (error) => {
      req.unpipe(gunzip);
      afterEnd(req, () => settle({ kind: 'bad-encoding', reason: error.message }));
    });
    gunzip.on('end', () => {
      if (!over) settle({ kind: 'text', text: Buffer.concat(chunks).toString('utf8') });
    });
    req.pipe(gunzip);
  });
}

/** Drains what is left of the request, then runs `then` (at once when the body has been read). */
function afterEnd(req: IncomingMessage, then: () => void): void {
  if (req.readableEnded) return then();
  req.once('end', then);
  req.resume();
}

/** After an early refusal: read and discard what is still coming, so the client reads the answer. */
function drain(req: IncomingMessage): void {
  if (!req.complete) req.resume();
}
