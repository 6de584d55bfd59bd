// Profiles CSV upload (SEMANTICS.md §12, docs/adr/0026-profiles-csv-upload.md): a file streams through
// csv-parse; each row becomes an identify that goes through the tracking API's ingest path (validation,
// group commit, both stores), so rows are ordinary events. The job, its counts and its first refused rows
// are kept in PostgreSQL as it runs, for GraphQL and the CLI's progress bar.
import { randomBytes } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { parse, type CsvError, type Info } from 'csv-parse';
import { InputError, ServiceUnavailableError } from '../errors.ts';
import type { IdentityService } from '../identity/index.ts';
import type { EventOutcome, IngestService } from '../ingest/index.ts';
import type { Database } from '../postgres/database.ts';
import {
  IMPORT_LIMITS,
  checkHeader,
  columnOfPath,
  identifierTypes,
  rowMessageId,
  rowToIdentify,
  templateHeader,
  type ImportError,
  type ImportHeader,
  type RowCall,
} from './csv.ts';
import {
  ImportsRepository,
  type ImportCounts,
  type ImportJob,
  type ImportVia,
  type RowError,
} from './imports.repository.ts';

export interface ImportSettings {
  /** Per-row errors kept per job (the first ones, by line); `refused` counts them all. */
  errorsCap: number;
  /** Rows per ingest call: one group-commit transaction at most (BATCH_CHUNK). */
  chunkRows: number;
  /** Ingest calls in flight at once; the parser waits (and so the upload) while they are busy. */
  inFlight: number;
  /** How often a running job's counts are written to PostgreSQL. */
  progressEveryMs: number;
  /** Segment's limits (SEMANTICS.md §12); tests lower them. */
  limits: { rows: number; columns: number; bytes: number };
  /** The longest row csv-parse keeps in memory: an unclosed quote cannot make it hold the whole file. */
  maxRowBytes: number;
}

export const DEFAULT_IMPORT_SETTINGS: ImportSettings = {
  errorsCap: 1000,
  chunkRows: 100,
  inFlight: 4,
  progressEveryMs: 500,
  limits: { ...IMPORT_LIMITS },
  maxRowBytes: 1024 * 1024,
};

/** How a file arrives: for the job's record and its progress. */
export interface ImportSource {
  via: ImportVia;
  fileName: string | null;
  /** The file's size when known up front; a larger one is refused before a row is read. */
  bytesTotal: number | null;
}

/** What imports report as they go, for metrics (docs/adr/0016-metrics.md); it must not throw. */
export interface ImportObserver {
  /** Rows judged: applied, duplicate (a re-upload) or refused. */
  rows(outcome: 'applied' | 'duplicate' | 'refused', count: number): void;
  /** A job ended. */
  finished(status: 'DONE' | 'FAILED'): void;
}

/** A job's counts as it runs (the CLI's progress bar). */
export type ImportProgress = ImportCounts & { bytesTotal: number | null };

/** The largest page of jobs or of a job's errors. */
export const MAX_IMPORT_PAGE = 100;

function checkFirst(first: number): void {
  if (!Number.isInteger(first) || first < 0 || first > MAX_IMPORT_PAGE)
    throw new InputError(`first must be a whole number from 0 to ${MAX_IMPORT_PAGE}`, ['first']);
}

/** Thrown into the parser when the file passes the byte limit. */
class TooLarge extends Error {}
/** Thrown into the parser when the upload fails or closes before its end (a client gone). */
class Interrupted extends Error {}

export class ImportService {
  private readonly repo: ImportsRepository;

  constructor(
    db: Database,
    private readonly identity: IdentityService,
    private readonly ingest: IngestService,
    private readonly settings: ImportSettings = DEFAULT_IMPORT_SETTINGS,
    private readonly observer: ImportObserver | null = null,
  ) {
    this.repo = new ImportsRepository(db);
  }

  /** The identifier types a file's columns may name, in rule priority order; NOT_FOUND for no space. */
  async identifierTypes(space: string): Promise<string[]> {
    const rules = await this.identity.rules(space);
    return identifierTypes([...rules].sort((a, b) => a.priority - b.priority).map((r) => r.type));
  }

  /** The template: a CSV header line with the space's identifier columns. */
  async template(space: string): Promise<string> {
    return templateHeader(await this.identifierTypes(space));
  }

  /** Records a job, QUEUED, and returns its id; `run` reads its file. */
  async create(space: string, source: ImportSource): Promise<string> {
    const id = `imp_${randomBytes(8).toString('hex')}`;
    await this.repo.create({ id, space, ...source });
    return id;
  }

  /**
   * Reads `input` to its end (or to a refusal of the whole file) and applies its rows; returns the job
   * as it ended. Throws only when a database fails (the job is then marked FAILED if it still can be).
   * The caller owns `input`: after a refusal it may still have bytes to drain.
   */
  async run(
    space: string,
    jobId: string,
    input: Readable,
    source: ImportSource,
    onProgress?: (p: ImportProgress) => void,
  ): Promise<ImportJob> {
    const { limits } = this.settings;
    const counts: ImportCounts = { bytesRead: 0, rows: 0, applied: 0, duplicates: 0, refused: 0 };
    const pendingErrors: RowError[] = [];
    let keptErrors = 0;
    const refuseRow = (error: RowError) => {
      counts.refused += 1;
      this.observer?.rows('refused', 1);
      if (keptErrors < this.settings.errorsCap) {
        keptErrors += 1;
        pendingErrors.push(error);
      }
    };
    let lastWrite = Date.now();
    // Writes of counts and errors run one after another, so a late one never overwrites the end's.
    let writing: Promise<void> = Promise.resolve();
    const write = (): Promise<void> => {
      writing = writing.then(async () => {
        await this.repo.addErrors(jobId, pendingErrors.splice(0));
        await this.repo.progress(jobId, counts);
      });
      return writing;
    };
    const report = async (force: boolean) => {
      onProgress?.({ ...counts, bytesTotal: source.bytesTotal });
      if (!force && Date.now() - lastWrite < this.settings.progressEveryMs) return;
      lastWrite = Date.now();
      await write();
    };
    const settle = () => writing.catch(() => undefined);
    const fail = async (error: ImportError) => {
      await settle();
      await this.repo.addErrors(jobId, pendingErrors.splice(0));
      await this.repo.finish(jobId, 'FAILED', counts, error);
      this.observer?.finished('FAILED');
      return this.mustFind(space, jobId);
    };

    if (source.bytesTotal !== null && source.bytesTotal > limits.bytes) {
      return fail(tooLarge(source.bytesTotal, limits.bytes));
    }
    const ruleTypes = await this.identifierTypes(space);

    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        counts.bytesRead += chunk.length;
        if (counts.bytesRead > limits.bytes) done(new TooLarge());
        else done(null, chunk);
      },
    });
    const parser = parse({
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: this.settings.maxRowBytes,
    });
    // csv-parse reports a malformed row (a stray or unclosed quote) and goes on; its line is csv-parse's.
    let resyncLine: number | null = null;
    /** The header line itself was not valid CSV: the file is refused. */
    let brokenHeader: string | null = null;
    parser.on('skip', (error: CsvError) => {
      // After a broken header nothing is read as rows: the file is refused whole.
      if (brokenHeader !== null) return;
      if (parser.info.records === 0) {
        brokenHeader = error.message;
        return;
      }
      const line = Number((error as CsvError & { lines?: number }).lines ?? 0);
      counts.rows += 1;
      refuseRow({
        line,
        code: 'VALIDATION_FAILED',
        message: `The row is not valid CSV: ${error.message}`,
        field: null,
      });
      resyncLine = Math.max(resyncLine ?? 0, line);
    });
    input.on('error', () => parser.destroy(new Interrupted()));
    input.on('close', () => {
      if (!input.readableEnded) parser.destroy(new Interrupted());
    });
    counter.on('error', (error) => parser.destroy(error));
    input.pipe(counter).pipe(parser);

    let header: ImportHeader | null = null;
    let lastLine = 0;
    let lastEmpty = 0;
    let chunk: { line: number; row: RowCall }[] = [];
    const inflight: Promise<void>[] = [];
    const dispatch = () => {
      const rows = chunk;
      chunk = [];
      const applied = this.ingest
        .importIdentifies(
          space,
          rows.map((r) => r.row.call),
        )
        .then((outcomes) => outcomes.forEach((o, i) => tally(o, rows[i] as { line: number; row: RowCall })));
      // Awaited in order below; a later chunk failing first must not count as an unhandled rejection.
      applied.catch(() => undefined);
      inflight.push(applied);
    };
    const tally = (outcome: EventOutcome, row: { line: number; row: RowCall }) => {
      if (outcome.ok) {
        if (outcome.duplicate) counts.duplicates += 1;
        else counts.applied += 1;
        this.observer?.rows(outcome.duplicate ? 'duplicate' : 'applied', 1);
        return;
      }
      const error = outcome.error;
      refuseRow({
        line: row.line,
        code: error?.code ?? 'VALIDATION_FAILED',
        message: error?.message ?? 'The row was refused.',
        field: error === null ? null : columnOfPath(error.path, row.row),
      });
    };

    // Counts reach PostgreSQL every progressEveryMs even while the upload is slow to arrive, so a live
    // job is never taken for an abandoned one (fail-abandoned.sql).
    const beat = setInterval(() => {
      report(true).catch(() => undefined);
    }, this.settings.progressEveryMs);
    try {
      for await (const item of parser as AsyncIterable<{ record: string[]; info: Info }>) {
        const { record, info } = item;
        // The row's first line: after the previous row and any empty lines; its own line breaks (in
        // quoted cells) counted from its cells, as csv-parse counts a quoted CRLF twice.
        let line = lastLine + 1 + (info.empty_lines - lastEmpty);
        if (resyncLine !== null && resyncLine >= line) line = resyncLine + 1;
        resyncLine = null;
        lastEmpty = info.empty_lines;
        lastLine = line + record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0);
        if (header === null) {
          if (brokenHeader !== null) break;
          const checked = checkHeader(record, ruleTypes);
          if (!checked.ok) {
            parser.destroy();
            return await fail(checked.error);
          }
          header = checked.header;
          await this.repo.start(jobId, header.columns);
          continue;
        }
        counts.rows += 1;
        if (counts.rows > limits.rows) {
          refuseRow({
            line,
            code: 'PAYLOAD_TOO_LARGE',
            message: `The file has more than ${limits.rows} rows; this row and those after it are refused.`,
            field: null,
          });
          continue;
        }
        const mapped = rowToIdentify(header, record, rowMessageId(header, line, record));
        if (!mapped.ok) {
          refuseRow({ line, ...mapped.error });
          continue;
        }
        chunk.push({ line, row: mapped.row });
        if (chunk.length >= this.settings.chunkRows) {
          dispatch();
          if (inflight.length >= this.settings.inFlight) {
            await inflight.shift();
            await report(false);
          }
        }
      }
      if (chunk.length > 0) dispatch();
      while (inflight.length > 0) await inflight.shift();
    } catch (error) {
      parser.destroy();
      await Promise.allSettled(inflight);
      if (error instanceof TooLarge) return await fail(tooLarge(null, limits.bytes));
      if (error instanceof Interrupted) {
        return await fail({
          code: 'INTERRUPTED',
          message:
            'The upload stopped before its end; upload the file again: rows already applied are skipped as duplicates.',
          field: null,
        });
      }
      // A database that stays unreachable (SEMANTICS.md §7): the job records it if it still can, and the
      // caller answers 503; the rows applied so far stay, and uploading the file again skips them.
      const stopped: ImportError =
        error instanceof ServiceUnavailableError
          ? { code: 'SERVICE_UNAVAILABLE', message: error.message, field: null }
          : {
              code: 'INTERNAL_SERVER_ERROR',
              message: 'The import stopped on an internal error.',
              field: null,
            };
      await fail(stopped).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(beat);
    }
    if (brokenHeader !== null) {
      return fail({
        code: 'VALIDATION_FAILED',
        message: `The header line is not valid CSV: ${String(brokenHeader)}`,
        field: null,
      });
    }
    if (header === null) {
      return fail({
        code: 'VALIDATION_FAILED',
        message: 'The file is empty: it has no header line.',
        field: null,
      });
    }
    await report(true);
    await settle();
    await this.repo.finish(jobId, 'DONE', counts, null);
    this.observer?.finished('DONE');
    return this.mustFind(space, jobId);
  }

  /** A job of the space, or null. */
  async job(space: string, id: string): Promise<ImportJob | null> {
    const [job] = await this.repo.list(space, { id, limit: 1 });
    return job ?? null;
  }

  /** The space's jobs, newest first; `after` is the last job of the previous page. */
  async jobs(
    space: string,
    first: number,
    after: { createdMicros: string; id: string } | null,
  ): Promise<{ jobs: ImportJob[]; hasNextPage: boolean }> {
    checkFirst(first);
    const rows = await this.repo.list(space, { ...(after === null ? {} : { after }), limit: first + 1 });
    return { jobs: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  /** A job's recorded row errors in line order, after line `after`. */
  async errors(
    jobId: string,
    first: number,
    after: number | null,
  ): Promise<{ errors: RowError[]; hasNextPage: boolean }> {
    checkFirst(first);
    const rows = await this.repo.errors(jobId, after, first + 1);
    return { errors: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  /** Jobs whose process went away mid-upload (no update since `before`) are FAILED as INTERRUPTED. */
  failAbandoned(before: Date): Promise<number> {
    return this.repo.failAbandoned(before);
  }

  private async mustFind(space: string, id: string): Promise<ImportJob> {
    const job = await this.job(space, id);
    if (job === null) throw new Error(`import job ${id} vanished`);
    return job;
  }
}

function tooLarge(size: number | null, limit: number): ImportError {
  return {
    code: 'PAYLOAD_TOO_LARGE',
    message:
      size === null
        ? `The file is over ${limit} bytes (${limit / 1024 / 1024} MB), the limit; the rows before that point were applied.`
        : `The file has ${size} bytes; at most ${limit} (${limit / 1024 / 1024} MB) are allowed.`,
    field: null,
  };
}
