// Thin resolvers for Profiles CSV upload jobs (docs/adr/0026-profiles-csv-upload.md): any access token of
// the space reads them. Jobs are keyset-paged by (createdAt in microseconds, id), a job's errors by line.
import type { ImportJobResolvers, QueryResolvers } from '../generated/graphql.ts';
import { InputError } from '../errors.ts';

const encode = (value: string) => Buffer.from(value, 'utf8').toString('base64url');
function decode(after: string | null | undefined, pattern: RegExp): string | null {
  if (after === null || after === undefined) return null;
  const text = Buffer.from(after, 'base64url').toString('utf8');
  if (!pattern.test(text) || encode(text) !== after)
    throw new InputError('after is not a cursor of this list', ['after']);
  return text;
}

export const importQueries: QueryResolvers = {
  importJob: (_, { id }, { space, services }) => services.imports.job(space, id),
  importJobs: async (_, { first, after }, { space, services }) => {
    const cursor = decode(after, /^\d+:imp_[0-9a-f]+$/);
    const [createdMicros, id] = cursor === null ? [] : cursor.split(':');
    const page = await services.imports.jobs(
      space,
      first,
      cursor === null ? null : { createdMicros: String(createdMicros), id: String(id) },
    );
    const last = page.jobs.at(-1);
    return {
      nodes: page.jobs,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        endCursor: last === undefined ? null : encode(`${last.createdMicros}:${last.id}`),
      },
    };
  },
};

export const ImportJob: ImportJobResolvers = {
  source: (job) => (job.via === 'cli' ? 'CLI' : 'HTTP'),
  progress: (job) => {
    if (job.status === 'DONE') return 1;
    if (job.bytesTotal === null || job.bytesTotal === 0) return null;
    return Math.min(1, job.bytesRead / job.bytesTotal);
  },
  errors: async (job, { first, after }, { services }) => {
    const line = decode(after, /^\d+$/);
    const page = await services.imports.errors(job.id, first, line === null ? null : Number(line));
    const last = page.errors.at(-1);
    return {
      nodes: page.errors,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        endCursor: last === undefined ? null : encode(String(last.line)),
      },
    };
  },
};
