// The cap on one answer's size (docs/adr/0015-graphql-armor.md). The cost limit bounds what an operation
// may ask for before it runs; this bounds what is sent, for fields whose size no static price can know
// (a profile's merged traits, a long list of identifiers).
import type { ApolloServerPlugin } from '@apollo/server';
import { isLosslessNumber } from '../json.ts';
import type { RefusalCode } from './limits.ts';

/**
 * Refuses, with HTTP 400 and RESPONSE_TOO_LARGE, a query whose answer would be over `maxBytes` of JSON.
 * Only queries: a mutation's answer is bounded by its input, and withholding it after its writes were
 * applied would tell the client they were not.
 */
export function responseSizePlugin(maxBytes: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, response }) {
          if (operation?.operation !== 'query' || response.body.kind !== 'single') return;
          if (jsonBytes(response.body.singleResult, maxBytes) <= maxBytes) return;
          response.http.status = 400;
          response.body = {
            kind: 'single',
            singleResult: {
              errors: [
                {
                  message: `The answer is over the limit of ${maxBytes} bytes: ask for smaller pages (\`first\`) or fewer fields, and page through the rest.`,
                  extensions: { code: 'RESPONSE_TOO_LARGE' satisfies RefusalCode },
                },
              ],
            },
          };
        },
      };
    },
  };
}

/**
 * The size of `JSON.stringify(value)` in UTF-8 bytes, counted without building the text, and given up as
 * soon as it passes `limit` (the result is then some number over `limit`). Escapes inside strings (`\"`,
 * `\n`, `\u0001`) are counted as the one character they stand for, so text full of them measures a little
 * under its JSON. A number too long for a double (a `LosslessNumber`, src/json.ts) counts as its digits,
 * as the answer writes it.
 */
export function jsonBytes(value: unknown, limit: number = Number.POSITIVE_INFINITY): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && bytes <= limit) {
    const item = stack.pop();
    if (item === null || item === undefined) {
      bytes += 4;
    } else if (typeof item === 'string') {
      bytes += Buffer.byteLength(item, 'utf8') + 2;
    } else if (typeof item === 'number' || typeof item === 'boolean' || typeof item === 'bigint') {
      bytes += String(item).length;
    } else if (isLosslessNumber(item)) {
      bytes += String(item).length;
    } else if (Array.isArray(item)) {
      // Brackets, and a comma between items.
      bytes += 2 + Math.max(0, item.length - 1);
      for (const element of item) stack.push(element);
    } else if (typeof item === 'object') {
      const toJSON = (item as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        stack.push((toJSON as () => unknown).call(item));
        continue;
      }
      // JSON leaves out members whose value is undefined (Apollo's results have `errors: undefined`).
      const entries = Object.entries(item).filter(([, member]) => member !== undefined);
      // Braces, a comma between members, and each key with its quotes and colon.
      bytes += 2 + Math.max(0, entries.length - 1);
      for (const [key, member] of entries) {
        bytes += Buffer.byteLength(key, 'utf8') + 3;
        stack.push(member);
      }
    }
  }
  return bytes;
}
