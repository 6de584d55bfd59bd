// The pure parts of the Profiles CSV upload (docs/adr/0026-profiles-csv-upload.md): header checks, a row
// as an identify, the column an ingest refusal names, and each row's messageId.
import { describe, expect, it } from 'vitest';
import {
  checkHeader,
  columnOfPath,
  rowMessageId,
  rowToIdentify,
  templateHeader,
  type ImportHeader,
} from '../../src/imports/csv.ts';

const TYPES = ['user_id', 'email', 'anonymous_id', 'ios.id', 'crm_id', 'group_id'];

function header(fields: string[]): ImportHeader {
  const checked = checkHeader(fields, TYPES);
  if (!checked.ok) throw new Error(checked.error.message);
  return checked.header;
}

describe('checkHeader', () => {
  it('accepts unique, trimmed names with an identifier column', () => {
    const h = header(['user_id', 'email', 'crm_id', 'plan', 'Email']);
    expect(h.identifierColumns).toEqual(['user_id', 'email', 'crm_id']);
    // Headers are case-sensitive: `Email` is a trait.
    expect(h.slots).toEqual(['userId', 'email', 'externalId', null, null]);
  });

  it.each([
    [['user_id', 'plan', 'plan'], 'VALIDATION_FAILED', 'plan', /more than once/],
    [['user_id', ' plan'], 'VALIDATION_FAILED', ' plan', /spaces around/],
    [['user_id', 'plan '], 'VALIDATION_FAILED', 'plan ', /spaces around/],
    [['user_id', ''], 'VALIDATION_FAILED', null, /Column 2 .* no name/],
    [['plan', 'name', 'group_id'], 'NO_IDENTIFIERS', null, /user_id, email, anonymous_id, ios\.id, crm_id/],
    [['User_ID', 'plan'], 'NO_IDENTIFIERS', null, /no identifier column/],
  ])('refuses %j', (fields, code, field, message) => {
    const checked = checkHeader(fields, TYPES);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.error).toMatchObject({ code, field });
    expect(checked.error.message).toMatch(message);
  });

  it('refuses more than 299 columns, naming the 300th', () => {
    const fields = ['user_id', ...Array.from({ length: 299 }, (_, i) => `t${i}`)];
    const checked = checkHeader(fields, TYPES);
    expect(checked).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE', field: 't298' } });
    expect(checkHeader(fields.slice(0, 299), TYPES).ok).toBe(true);
  });
});

describe('rowToIdentify', () => {
  const h = header(['user_id', 'anonymous_id', 'email', 'ios.id', 'crm_id', 'plan', 'age']);

  it('puts identifiers where resolution reads them and other cells in traits; blank cells are omitted', () => {
    const mapped = rowToIdentify(h, ['u1', '', 'Jane@X.com', 'dev-1', ' ', 'pro', ''], 'm1');
    expect(mapped).toEqual({
      ok: true,
      row: {
        call: {
          messageId: 'm1',
          userId: 'u1',
          traits: { email: 'Jane@X.com', plan: 'pro' },
          context: {
            externalIds: [{ id: 'dev-1', type: 'ios.id', collection: 'users', encoding: 'none' }],
          },
        },
        externalIdColumns: ['ios.id'],
      },
    });
  });

  it('accepts a row identified by a custom id alone', () => {
    const mapped = rowToIdentify(h, ['', '', '', '', 'c-9', '', '41'], 'm2');
    expect(mapped.ok && mapped.row.call).toEqual({
      messageId: 'm2',
      traits: { age: '41' },
      context: { externalIds: [{ id: 'c-9', type: 'crm_id', collection: 'users', encoding: 'none' }] },
    });
  });

  it('refuses a row without identifiers, naming the identifier columns', () => {
    expect(rowToIdentify(h, ['', ' ', '', '', '', 'pro', '3'], 'm')).toMatchObject({
      ok: false,
      error: { code: 'NO_IDENTIFIERS', field: 'user_id,anonymous_id,email,ios.id,crm_id' },
    });
  });

  it('refuses a row whose cell count differs from the header, naming the first missing column', () => {
    expect(rowToIdentify(h, ['u1', '', 'a@b.c'], 'm')).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', field: 'ios.id' },
    });
    expect(rowToIdentify(h, ['u1', '', '', '', '', '', '', 'extra'], 'm')).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', field: null },
    });
  });

  it('names the column of an ingest refusal', () => {
    const mapped = rowToIdentify(h, ['u1', 'a1', 'x@y.z', 'd1', 'c1', 'pro', '1'], 'm');
    if (!mapped.ok) throw new Error('expected a row');
    expect(columnOfPath(['userId'], mapped.row)).toBe('user_id');
    expect(columnOfPath(['anonymousId'], mapped.row)).toBe('anonymous_id');
    expect(columnOfPath(['traits', 'plan'], mapped.row)).toBe('plan');
    expect(columnOfPath(['context', 'externalIds', 1, 'id'], mapped.row)).toBe('crm_id');
    expect(columnOfPath([], mapped.row)).toBeNull();
  });
});

describe('rowMessageId', () => {
  const h = header(['user_id', 'plan']);
  it('is the same for the same header, line and cells, and differs otherwise', () => {
    const id = rowMessageId(h, 2, ['u1', 'pro']);
    expect(id).toMatch(/^csv-000000002-[0-9a-f]{40}$/);
    expect(id.length).toBeLessThanOrEqual(100);
    expect(rowMessageId(header(['user_id', 'plan']), 2, ['u1', 'pro'])).toBe(id);
    expect(rowMessageId(h, 3, ['u1', 'pro'])).not.toBe(id);
    expect(rowMessageId(h, 2, ['u1', 'free'])).not.toBe(id);
    expect(rowMessageId(header(['user_id', 'tier']), 2, ['u1', 'pro'])).not.toBe(id);
    // File order survives the tie-break by messageId (SEMANTICS.md §5).
    expect(rowMessageId(h, 9, ['z']) < rowMessageId(h, 10, ['a'])).toBe(true);
  });
});

describe('templateHeader', () => {
  it('lists the identifier types but not group_id', () => {
    expect(templateHeader(TYPES)).toBe('user_id,email,anonymous_id,ios.id,crm_id\r\n');
  });
});
