// The HTTP face of the Profiles CSV upload (docs/adr/0026-profiles-csv-upload.md):
//   POST /v1/spaces/{space}/profiles/import          the CSV as the raw body, streamed into a job
//   GET  /v1/spaces/{space}/profiles/import/template a header line with the space's identifier columns
// A thin layer: it authenticates, calls ImportService and shapes the JSON. The body is never held whole:
// it streams through csv-parse into the ingest path, and the upload waits while rows are applied.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ServiceUnavailableError, type ErrorCode } from '../errors.ts';
import { presentedSecret, sendJson, type HttpRoute } from '../http.ts';
import type { Logger } from '../log.ts';
import type { Services } from '../services.ts';
import type { ImportJob, RowError } from './imports.repository.ts';

const PATH = /^\/v1\/spaces\/([^/]+)\/profiles\/import(\/template)?\/?$/;
/** Row errors shown in the upload's answer; GraphQL's `importJob.errors` pages through all kept. */
const ERRORS_IN_ANSWER = 20;

export function importApi(services: Services, logger: Logger): HttpRoute {
  return {
    matches: (url) => PATH.test(url.pathname),
    pattern: (url) =>
      PATH.exec(url.pathname)?.[2] === undefined
        ? '/v1/spaces/:space/profiles/import'
        : '/v1/spaces/:space/profiles/import/template',
    async handle(req, res, url) {
      try {
        await serve(req, res, url);
      } catch (error) {
        if (res.headersSent) throw error;
        drain(req);
        if (error instanceof ServiceUnavailableError) {
          return refuse(res, 503, 'SERVICE_UNAVAILABLE', error.message, {
            'retry-after': String(error.retryAfterSeconds),
          });
        }
        throw error;
      }
    },
  };

  async function serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = PATH.exec(url.pathname);
    const template = match?.[2] !== undefined;
    const space = decode(match?.[1] ?? '');
    const method = template ? 'GET' : 'POST';
    if (req.method !== method && !(template && req.method === 'HEAD')) {
      drain(req);
      return refuse(res, 405, 'BAD_REQUEST', `Use ${method} here, not ${req.method ?? ''}.`, {
        allow: method,
      });
    }
    const principal = await services.spaces.authenticate(presentedSecret(req));
    if (principal === null) {
      drain(req);
      return refuse(
        res,
        401,
        'UNAUTHENTICATED',
        'An access token is required: send it as "Authorization: Bearer <token>".',
        { 'www-authenticate': 'Bearer realm="stitchgraph"' },
      );
    }
    const needed = template ? ['read'] : ['write', 'admin'];
    if (principal.kind !== 'token' || principal.space !== space) {
      drain(req);
      return refuse(
        res,
        403,
        'FORBIDDEN',
        principal.kind !== 'token'
          ? 'Write keys only send events (/v1/<call>); importing profiles needs an access token with the write or admin scope.'
          : 'This access token belongs to another space.',
      );
    }
    if (!needed.some((scope) => principal.scopes.includes(scope as never))) {
      drain(req);
      return refuse(
        res,
        403,
        'FORBIDDEN',
        'Importing profiles needs an access token with the write or admin scope.',
      );
    }
    if (template) {
      const header = await services.imports.template(space);
      res.statusCode = 200;
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="${space}-profiles-template.csv"`);
      res.end(req.method === 'HEAD' ? undefined : header);
      return;
    }
    return upload(req, res, url, space);
  }

  async function upload(req: IncomingMessage, res: ServerResponse, url: URL, space: string): Promise<void> {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('multipart/')) {
      drain(req);
      return refuse(
        res,
        400,
        'VALIDATION_FAILED',
        'Send the CSV file as the raw request body (curl --data-binary @file.csv), not as a form.',
      );
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') {
      drain(req);
      return refuse(
        res,
        400,
        'BAD_REQUEST',
        `Unsupported content-encoding ${encoding}; send identity or gzip.`,
      );
    }
    const length = Number(req.headers['content-length']);
    const source = {
      via: 'http' as const,
      fileName: url.searchParams.get('fileName')?.slice(0, 255) ?? null,
      // The limit is on the file's bytes; a gzip body's length says nothing about them.
      bytesTotal: encoding === 'identity' && Number.isFinite(length) && length >= 0 ? length : null,
    };
    const jobId = await services.imports.create(space, source);
    let body: Readable = req;
    if (encoding === 'gzip') {
      const gunzip = createGunzip();
      gunzip.on('error', () => gunzip.destroy());
      body = req.pipe(gunzip);
      req.on('close', () => {
        if (!req.complete) gunzip.destroy();
      });
    }
    const job = await services.imports.run(space, jobId, body, source);
    // A refused file may still be arriving (up to gigabytes): the answer closes the connection, and what
    // arrives until then is read and discarded, so the client reads the answer.
    if (!req.readableEnded) {
      res.setHeader('connection', 'close');
      req.unpipe();
      drain(req);
    }
    logger.info('profiles import finished', {
      space,
      job: job.id,
      status: job.status,
      rows: job.rows,
      refused: job.refused,
    });
    if (job.status === 'FAILED' && job.error !== null) {
      return sendJson(res, 400, {
        success: false,
        error: { ...job.error, path: job.error.field === null ? [] : [job.error.field] },
        job: jobJson(job),
      });
    }
    const { errors } = await services.imports.errors(job.id, ERRORS_IN_ANSWER, null);
    sendJson(res, 200, { success: true, job: jobJson(job), errors: errors.map(errorJson) });
  }
}

function jobJson(job: ImportJob) {
  return {
    id: job.id,
    status: job.status,
    fileName: job.fileName,
    columns: job.columns,
    rows: job.rows,
    applied: job.applied,
    duplicates: job.duplicates,
    refused: job.refused,
    bytesRead: job.bytesRead,
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

function errorJson(e: RowError) {
  return { line: e.line, code: e.code, message: e.message, field: e.field };
}

function refuse(
  res: ServerResponse,
  status: number,
  code: ErrorCode | 'BAD_REQUEST',
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { success: false, error: { code, message, path: [] } }, headers);
}

/** After an early answer: read and discard what is still coming, so the client reads the answer. */
function drain(req: IncomingMessage): void {
  if (!req.readableEnded) req.resume();
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
