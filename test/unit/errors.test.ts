import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { maskError } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';

function format(error: GraphQLError) {
  const lines: string[] = [];
  const out = maskError(
    error.toJSON(),
    error,
    createLogger('debug', (l) => lines.push(l)),
  );
  return { out, logs: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('maskError', () => {
  it('hides an unexpected error from the client and logs it in full', () => {
    const cause = new Error('connection to 10.0.0.1 refused for user admin');
    const { out, logs } = format(
      new GraphQLError(cause.message, { originalError: cause, path: ['profile'] }),
    );
    expect(out).toEqual({
      message: 'Internal server error',
      path: ['profile'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 'error', error: { message: cause.message } });
  });

  it('passes through errors with a public code', () => {
    const { out, logs } = format(new GraphQLError('bad', { extensions: { code: 'VALIDATION_FAILED' } }));
    expect(out).toMatchObject({ message: 'bad', extensions: { code: 'VALIDATION_FAILED' } });
    expect(logs).toEqual([]);
  });

  it('keeps the code of a domain error thrown by a service', () => {
    const cause = Object.assign(new Error('Space "x" does not exist.'), { code: 'NOT_FOUND' });
    const { out } = format(new GraphQLError(cause.message, { originalError: cause }));
    expect(out).toMatchObject({ message: 'Space "x" does not exist.', extensions: { code: 'NOT_FOUND' } });
  });
});
