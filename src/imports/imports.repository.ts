// Import jobs in PostgreSQL (sql/imports/, migration 0011): rows are checked here and turned into domain
// types (STYLE.md §6).
import { z } from 'zod';
import type { Database } from '../postgres/database.ts';
import type { ImportError } from './csv.ts';

export const IMPORT_QUERIES = [
  'imports/create-job',
  'imports/start-job',
  'imports/record-progress',
  'imports/finish-job',
  'imports/add-errors',
  'imports/list-jobs',
  'imports/list-errors',
  'imports/fail-abandoned',
] as const;

export type ImportStatus = 'QUEUED' | 'RUNNING' | 'DONE' | 'FAILED';
export type ImportVia = 'cli' | 'http';

export interface ImportCounts {
  bytesRead: number;
  rows: number;
  applied: number;
  duplicates: number;
  refused: number;
}

export interface ImportJob extends ImportCounts {
  id: string;
  space: string;
  status: ImportStatus;
  via: ImportVia;
  fileName: string | null;
  bytesTotal: number | null;
  columns: string[];
  /** Why the file was refused or the job stopped; null unless FAILED. */
  error: ImportError | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** createdAt in epoch microseconds, exactly as stored: the page cursor's time. */
  createdMicros: string;
}

export interface RowError extends ImportError {
  /** The file's line number where the row starts (the header is line 1). */
  line: number;
}

const jobRow = z.object({
  id: z.string(),
  space: z.string(),
  status: z.enum(['QUEUED', 'RUNNING', 'DONE', 'FAILED']),
  source: z.enum(['cli', 'http']),
  file_name: z.string().nullable(),
  bytes_total: z.string().nullable(),
  bytes_read: z.string(),
  columns: z.array(z.string()),
  rows: z.string(),
  applied: z.string(),
  duplicates: z.string(),
  refused: z.string(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  error_field: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
  finished_at: z.number().nullable(),
  created_us: z.string(),
});

const errorRow = z.object({
  line: z.string(),
  code: z.string(),
  message: z.string(),
  field: z.string().nullable(),
});

export class ImportsRepository {
  constructor(private readonly db: Database) {}

  async create(job: {
    id: string;
    space: string;
    via: ImportVia;
    fileName: string | null;
    bytesTotal: number | null;
  }): Promise<void> {
    await this.db.query('imports/create-job', [job.id, job.space, job.via, job.fileName, job.bytesTotal]);
  }

  async start(id: string, columns: string[]): Promise<void> {
    await this.db.query('imports/start-job', [id, columns]);
  }

  async progress(id: string, c: ImportCounts): Promise<void> {
    await this.db.query('imports/record-progress', [
      id,
      c.bytesRead,
      c.rows,
      c.applied,
      c.duplicates,
      c.refused,
    ]);
  }

  async finish(id: string, status: 'DONE' | 'FAILED', c: ImportCounts, error: ImportError | null) {
    await this.db.query('imports/finish-job', [
      id,
      status,
      c.bytesRead,
      c.rows,
      c.applied,
      c.duplicates,
      c.refused,
      error?.code ?? null,
      error?.message ?? null,
      error?.field ?? null,
    ]);
  }

  async addErrors(id: string, errors: RowError[]): Promise<void> {
    if (errors.length === 0) return;
    await this.db.query('imports/add-errors', [
      id,
      errors.map((e) => e.line),
      errors.map((e) => e.code),
      errors.map((e) => e.message),
      errors.map((e) => e.field),
    ]);
  }

  /** A space's jobs, newest first, after the job `after` (its createdMicros and id); or one job by id. */
  async list(
    space: string,
    options: { id?: string; after?: { createdMicros: string; id: string }; limit: number },
  ): Promise<ImportJob[]> {
    const rows = await this.db.query('imports/list-jobs', [
      space,
      options.id ?? null,
      options.after?.createdMicros ?? null,
      options.after?.id ?? null,
      options.limit,
    ]);
    return rows.map((raw) => {
      const r = jobRow.parse(raw);
      return {
        id: r.id,
        space: r.space,
        status: r.status,
        via: r.source,
        fileName: r.file_name,
        bytesTotal: r.bytes_total === null ? null : Number(r.bytes_total),
        bytesRead: Number(r.bytes_read),
        columns: r.columns,
        rows: Number(r.rows),
        applied: Number(r.applied),
        duplicates: Number(r.duplicates),
        refused: Number(r.refused),
        error:
          r.error_code === null
            ? null
            : {
                code: r.error_code as ImportError['code'],
                message: r.error_message ?? '',
                field: r.error_field,
              },
        createdAt: new Date(r.created_at),
        updatedAt: new Date(r.updated_at),
        finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
        createdMicros: r.created_us,
      };
    });
  }

  async errors(jobId: string, afterLine: number | null, limit: number): Promise<RowError[]> {
    const rows = await this.db.query('imports/list-errors', [jobId, afterLine, limit]);
    return rows.map((raw) => {
      const r = errorRow.parse(raw);
      return {
        line: Number(r.line),
        code: r.code as RowError['code'],
        message: r.message,
        field: r.field,
      };
    });
  }

  async failAbandoned(before: Date): Promise<number> {
    return (await this.db.query('imports/fail-abandoned', [before])).length;
  }
}
