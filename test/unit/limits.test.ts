import { createHash } from 'node:crypto';
import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  buildSchema,
  getIntrospectionQuery,
  Kind,
  parse,
  specifiedRules,
  validate,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadTypeDefs, maskError } from '../../src/app.ts';
import { loadConfig, type GraphQLConfig } from '../../src/config.ts';
import { configProblems } from '../support/config.ts';
import {
  documentLimitRules,
  exceedsTokens,
  FIELD_PRICES,
  graphqlProtection,
  introspectionPrice,
  jsonBytes,
  operationCost,
  REFUSAL_CODES,
  SCHEMA_QUERY,
  type Prices,
} from '../../src/graphql/index.ts';
import { parseJson, stringifyJson } from '../../src/json.ts';
import { createLogger } from '../../src/log.ts';

const typeDefs = `
  type Query {
    node: Node
    nodes(first: Int): [Node!]!
    items: [Node!]!
    paged(first: Int = 5): [Node!]!
    connection(first: Int! = 20): Connection!
    blob(bytes: Int!): String!
  }
  type Mutation {
    blob(bytes: Int!): String!
  }
  type Connection {
    nodes: [Node!]!
    total: Int!
  }
  type Node {
    id: ID!
    child: Node
    children(first: Int): [Node!]!
    tags: [String!]!
  }
`;
const schema = buildSchema(typeDefs);
const ours = buildSchema(loadTypeDefs());
const defaults = loadConfig({}).graphql;
const standardIntrospection = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});

function check(query: string, overrides: Partial<GraphQLConfig> = {}, on: GraphQLSchema = schema) {
  const rules: ValidationRule[] = documentLimitRules({ ...defaults, ...overrides });
  return validate(on, parse(query), [...specifiedRules, ...rules]).map((e) => ({
    message: e.message,
    code: (e as { code?: unknown }).code,
  }));
}

const refused = (code: string, message: string) => ({ code, message });
const tooDeep = (limit: number, found: number) =>
  refused(
    'QUERY_TOO_DEEP',
    `Query depth limit of ${limit} exceeded, found ${found}. Select less deeply nested fields, or split the operation.`,
  );

/** n aliased copies of `field`, e.g. `a0: version a1: version`. */
const aliases = (n: number, field: string) =>
  Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');

describe('aliases (graphql-armor, TOO_MANY_ALIASES)', () => {
  it('refuses one alias past the limit, counting aliases inside fragments', () => {
    expect(check(`{ ${aliases(3, 'node { id }')} }`, { maxAliases: 3 })).toEqual([]);
    expect(check(`{ ${aliases(4, 'node { id }')} }`, { maxAliases: 3 })).toEqual([
      refused(
        'TOO_MANY_ALIASES',
        'Aliases limit of 3 exceeded, found 4. Ask for fewer aliased fields, or split the operation.',
      ),
    ]);
    const spread = `{ x: node { ...F } y: node { ...F } }\nfragment F on Node { a: id b: id }`;
    expect(check(spread, { maxAliases: 5 }).map((e) => e.message)).toEqual([
      'Aliases limit of 5 exceeded, found 6. Ask for fewer aliased fields, or split the operation.',
    ]);
  });

  it('counts aliased introspection fields, but not aliases of __typename', () => {
    expect(check(`{ ${aliases(4, '__schema { types { name } }')} }`, { maxAliases: 3 })).toEqual([
      expect.objectContaining({ code: 'TOO_MANY_ALIASES' }),
    ]);
    expect(check(`{ node { ${aliases(10, '__typename')} } }`, { maxAliases: 3 })).toEqual([]);
  });
});

describe('directives (graphql-armor, TOO_MANY_DIRECTIVES)', () => {
  it('refuses one directive past the limit, fragments included', () => {
    const query =
      '{ node { id @skip(if: false) ...F @include(if: true) } }\nfragment F on Node { tags @skip(if: false) }';
    expect(check(query, { maxDirectives: 3 })).toEqual([]);
    expect(check(query, { maxDirectives: 2 })).toEqual([
      refused(
        'TOO_MANY_DIRECTIVES',
        'Directives limit of 2 exceeded, found 3. Use fewer directives, or split the operation.',
      ),
    ]);
  });
});

describe('depth (graphql-armor, QUERY_TOO_DEEP)', () => {
  it('counts a root field as depth 1 and refuses one level past the limit', () => {
    expect(check('{ node { child { child { id } } } }', { maxDepth: 4 })).toEqual([]);
    expect(check('{ node { child { child { id } } } }', { maxDepth: 3 })).toEqual([tooDeep(3, 4)]);
  });

  it('counts fields only: fragments, spread or inline, add no level', () => {
    const query = 'query Q { node { ...F } }\nfragment F on Node { child { ... on Node { child { id } } } }';
    expect(check(query, { maxDepth: 3 })).toEqual([tooDeep(3, 4)]);
    expect(check(query, { maxDepth: 4 })).toEqual([]);
  });

  it('takes the deepest branch and checks every operation', () => {
    const query = 'query A { node { id } items { child { child { id } } } }\nquery B { node { id } }';
    expect(check(query, { maxDepth: 3 })).toEqual([tooDeep(3, 4)]);
  });

  // Changed on purpose (issue 11): the hand-written rule skipped every `__` field; depth now counts them.
  it('counts __typename like any field', () => {
    expect(check('{ node { child { __typename } } }', { maxDepth: 3 })).toEqual([]);
    expect(check('{ node { child { __typename } } }', { maxDepth: 2 })).toEqual([tooDeep(2, 3)]);
  });

  it('survives a fragment cycle, which graphql-js reports itself', () => {
    const errors = check('{ node { ...A } }\nfragment A on Node { child { ...A } }', { maxDepth: 2 });
    expect(errors.map((e) => e.message)).toContain('Cannot spread fragment "A" within itself.');
  });
});

describe('introspection', () => {
  it('lets the standard introspection query (15 deep) and the landing page schema query through', () => {
    expect(check(standardIntrospection, {}, ours)).toEqual([]);
    expect(check(getIntrospectionQuery(), {}, ours)).toEqual([]);
    expect(check(SCHEMA_QUERY, {}, ours)).toEqual([]);
    // 15 deep: refused one level under it.
    expect(check(standardIntrospection, { maxIntrospectionDepth: 14 }, ours)).toEqual([
      refused(
        'QUERY_TOO_DEEP',
        'Query depth limit of 14 exceeded, found 15. An operation that selects __schema counts its introspection fields too; select fewer nested levels.',
      ),
    ]);
  });

  it('counts an operation with __schema in full, and its other fields against the ordinary limit', () => {
    const ofType = (n: number): string => (n === 0 ? 'name' : `ofType { ${ofType(n - 1)} }`);
    // __schema, types, fields, type, then ofType × 16, then name: 21 deep.
    const deep = `{ __schema { types { fields { type { ${ofType(16)} } } } } }`;
    expect(check(deep, {}, ours)).toEqual([
      expect.objectContaining({ code: 'QUERY_TOO_DEEP', message: expect.stringContaining('found 21') }),
    ]);
    // Through a fragment on the root type too.
    expect(check(`{ ...S }\nfragment S on Query ${deep}`, {}, ours)).toHaveLength(1);
    // The data beside __schema gets no more room than any other query.
    expect(check('{ __schema { types { name } } node { child { child { id } } } }', { maxDepth: 3 })).toEqual(
      [tooDeep(3, 4)],
    );
  });

  it('is still bounded by graphql-js when it recurses', () => {
    const errors = check(
      '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }',
    );
    expect(errors.map((e) => e.message)).toEqual(['Maximum introspection depth exceeded']);
  });
});

describe('tokens (graphql-armor counts, TOO_MANY_TOKENS)', () => {
  it('tells a document over the limit from one with a syntax error', () => {
    // `{`, `node`, `{`, `id`, `}`, `}`: 6 tokens.
    expect(exceedsTokens('{ node { id } }', 6)).toBe(false);
    expect(exceedsTokens('{ node { id } }', 5)).toBe(true);
    expect(exceedsTokens('{ node { id ', 4)).toBe(false);
    expect(exceedsTokens('{ node { id ', 3)).toBe(true);
    // Variables are not tokens of the document; comments are not tokens.
    expect(exceedsTokens('# a comment\n# another\n{ node { id } }', 6)).toBe(false);
  });
});

describe('operationCost', () => {
  const cost = (query: string, variables?: Record<string, unknown>, on = schema, prices?: Prices) => {
    const document = parse(query);
    const operation = document.definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
    if (operation === undefined) throw new Error('no operation');
    const fragments = new Map(
      document.definitions
        .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
        .map((d) => [d.name.value, d]),
    );
    return operationCost(on, operation, (name) => fragments.get(name), variables, prices);
  };

  it('multiplies the sub-selection by a literal `first`', () => {
    // 1 (nodes) + 3 × (id + tags) = 7
    expect(cost('{ nodes(first: 3) { id tags } }')).toBe(7);
  });

  it('counts a variable `first` as 100 when it cannot see the variables', () => {
    expect(cost('query ($n: Int) { nodes(first: $n) { id } }')).toBe(101);
  });

  it('reads a variable `first` when given the variables, and its declared default when absent', () => {
    const query = 'query ($n: Int = 4) { nodes(first: $n) { id } }';
    expect(cost(query, { n: 2 })).toBe(3);
    expect(cost(query, {})).toBe(5);
    // null is no `first` at all: a list without one counts 10.
    expect(cost(query, { n: null })).toBe(11);
  });

  it('counts a list without `first` as 10 items, a schema default `first` as its value, and nests', () => {
    // items: 1 + 10 × (children: 1 + 4 × (tags: 1)) = 51; paged: 1 + 5 × (id: 1) = 6
    expect(cost('{ items { children(first: 4) { tags } } paged { id } }')).toBe(57);
  });

  it("counts a connection's list as the page that `first` already counted", () => {
    // 1 + 5 × (nodes: 1 + 1 × (id + tags) + total: 1) = 21
    expect(cost('{ connection(first: 5) { nodes { id tags } total } }')).toBe(21);
    // 1 + 20 (the default) × (nodes: 1 + 1 × (children: 1 + 10 × (id: 1))) = 241; lists below are lists
    expect(
      cost('{ connection { ...Page } }\nfragment Page on Connection { nodes { children { id } } }'),
    ).toBe(241);
  });

  it('follows fragments and counts each spread', () => {
    // 1 + 2 × (F + F) where F = children: 1 + 3 × (id: 1) = 4, so 1 + 2 × 8 = 17
    const query =
      '{ nodes(first: 2) { ...F ... on Node { ...F } } }\nfragment F on Node { children(first: 3) { id } }';
    expect(cost(query)).toBe(17);
  });

  it('prices JSON fields from events at 1 per KiB they can return (32 KiB each)', () => {
    const profile = (events: string) => `{ profile(by: { type: "user_id", value: "u" }) { ${events} } }`;
    // profile 1 + events 1 + 100 × (nodes 1 + properties 32) = 3,302
    expect(cost(profile('events(first: 100) { nodes { properties } }'), {}, ours)).toBe(3302);
    // The amplification: 99 aliases of it.
    const amplified = `{ ${aliases(99, 'profile(by: { type: "user_id", value: "u" }) { events(first: 100) { nodes { properties } } }')} }`;
    expect(cost(amplified, {}, ours)).toBe(99 * 3302);
    // traits and context as much again; a plain field costs 1
    expect(cost(profile('events(first: 1) { nodes { traits context type } }'), {}, ours)).toBe(
      1 + 1 + 1 + 65,
    );
  });

  it('prices every JSON field of our schema that a client can select', () => {
    const json = new Set(['JSON', 'JSONObject']);
    const unpriced: string[] = [];
    for (const type of Object.values(ours.getTypeMap())) {
      // Object types: what a client selects (input types are what it sends).
      if (type.name.startsWith('__') || !('getInterfaces' in type)) continue;
      for (const field of Object.values(type.getFields())) {
        const named = String(field.type).replace(/[[\]!]/g, '');
        if (json.has(named) && FIELD_PRICES[`${type.name}.${field.name}`] === undefined) {
          unpriced.push(`${type.name}.${field.name}`);
        }
      }
    }
    expect(unpriced).toEqual([]);
  });

  it('prices __schema and __type at the size of the full introspection answer; __typename is free', () => {
    const price = introspectionPrice(ours);
    // Our schema's full answer is tens of KiB.
    expect(price).toBeGreaterThan(20);
    expect(cost(standardIntrospection, {}, ours, { introspection: price })).toBe(price);
    expect(
      cost(`{ ${aliases(3, '__schema { types { name } }')} __typename }`, {}, ours, { introspection: 7 }),
    ).toBe(21);
    expect(cost('{ __type(name: "Profile") { name } version }', {}, ours, { introspection: 7 })).toBe(8);
  });
});

describe('jsonBytes', () => {
  it("is JSON.stringify's length in UTF-8 bytes for text without escapes", () => {
    const samples: unknown[] = [
      null,
      { data: { a: 1, b: 'two', c: [true, false, null], d: { e: [], f: {} } } },
      ['é', '日本', '🙂', -1.5e-7, 12345678901234],
      { errors: [{ message: 'x', extensions: { code: 'C' } }], data: null },
      { when: new Date(0), left: undefined },
    ];
    for (const value of samples) {
      expect(jsonBytes(value), JSON.stringify(value)).toBe(Buffer.byteLength(JSON.stringify(value)));
    }
  });

  it('counts a number too long for a double as the digits the answer writes', () => {
    const value = { data: { n: parseJson('{"id": 6416965886464272042}') } };
    expect(jsonBytes(value)).toBe(Buffer.byteLength(stringifyJson(value)));
    expect(stringifyJson(value)).toContain('6416965886464272042');
  });

  it('stops counting once over the limit', () => {
    const big = { items: Array.from({ length: 100_000 }, (_, i) => ({ id: `item-${i}` })) };
    const size = jsonBytes(big, 1000);
    expect(size).toBeGreaterThan(1000);
    // The brackets and commas of the list are counted at once; its items only until the limit.
    expect(size).toBeLessThan(100_100);
    expect(jsonBytes(big)).toBe(Buffer.byteLength(JSON.stringify(big)));
  });
});

/** A server protected as createApp protects ours, with the same error masking. */
async function server(overrides: Partial<GraphQLConfig> = {}) {
  const blob = (_: unknown, args: { bytes: number }) => 'x'.repeat(args.bytes);
  const apollo = new ApolloServer({
    typeDefs,
    resolvers: { Query: { nodes: () => [{ id: '1', tags: [] }], blob }, Mutation: { blob } },
    ...graphqlProtection({ ...defaults, ...overrides }),
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) =>
      maskError(
        formatted,
        error,
        createLogger('error', () => {}),
      ),
  });
  await apollo.start();
  return apollo;
}

async function post(apollo: ApolloServer, body: Record<string, unknown>) {
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: {
      method: 'POST',
      headers: new HeaderMap([['content-type', 'application/json']]),
      search: '',
      body,
    },
    context: async () => ({}),
  });
  if (response.body.kind !== 'complete') throw new Error('expected a complete response');
  return { status: response.status ?? 200, body: JSON.parse(response.body.string) as unknown };
}

describe('limits in Apollo Server', () => {
  it('answers each document limit with 400 and its own code, not GRAPHQL_VALIDATION_FAILED', async () => {
    const apollo = await server({ maxDepth: 2, maxAliases: 1, maxDirectives: 1 });
    const answer = async (query: string) => {
      const { status, body } = await post(apollo, { query });
      return {
        status,
        codes: (body as { errors: { extensions: { code: string } }[] }).errors.map((e) => e.extensions.code),
      };
    };
    expect(await answer('{ node { child { id } } }')).toEqual({ status: 400, codes: ['QUERY_TOO_DEEP'] });
    expect(await answer('{ a: node { id } b: node { id } }')).toEqual({
      status: 400,
      codes: ['TOO_MANY_ALIASES'],
    });
    expect(await answer('{ node { id @skip(if: false) tags @skip(if: false) } }')).toEqual({
      status: 400,
      codes: ['TOO_MANY_DIRECTIVES'],
    });
    expect(await post(apollo, { query: '{ node { id } }' })).toEqual({
      status: 200,
      body: { data: { node: null } },
    });
    await apollo.stop();
  });

  it('answers a document over the token limit with 400 TOO_MANY_TOKENS where the limit was hit', async () => {
    const apollo = await server({ maxTokens: 5 });
    expect(await post(apollo, { query: '{ node { id } }' })).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message:
              'The document has more than 5 tokens (names, punctuation and literal values): ask for fewer fields, or pass values as variables, which do not count.',
            locations: [{ line: 1, column: 15 }],
            extensions: { code: 'TOO_MANY_TOKENS' },
          },
        ],
      },
    });
    // A syntax error within the limit keeps its own code.
    expect(await post(apollo, { query: '{ node {' })).toMatchObject({
      status: 400,
      body: { errors: [{ extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] },
    });
    await apollo.stop();
  });

  it('costs with the request variables and answers QUERY_TOO_COSTLY with 400', async () => {
    const apollo = await server({ maxCost: 50 });
    const query = 'query ($n: Int) { nodes(first: $n) { id } }';
    expect(await post(apollo, { query, variables: { n: 2 } })).toEqual({
      status: 200,
      body: { data: { nodes: [{ id: '1' }] } },
    });
    expect(await post(apollo, { query, variables: { n: 60 } })).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message:
              'Operation cost 61 exceeds the limit of 50: ask for smaller pages (`first`), fewer nested lists or fewer JSON fields (`properties`, `traits`, `context`).',
            extensions: { code: 'QUERY_TOO_COSTLY' },
          },
        ],
      },
    });
    await apollo.stop();
  });

  it('costs only the operation that runs', async () => {
    const apollo = await server({ maxCost: 50 });
    const query = 'query Cheap { nodes(first: 1) { id } }\nquery Dear { nodes(first: 99) { id } }';
    expect(await post(apollo, { query, operationName: 'Cheap' })).toMatchObject({ status: 200 });
    expect(await post(apollo, { query, operationName: 'Dear' })).toMatchObject({
      status: 400,
      body: { errors: [{ extensions: { code: 'QUERY_TOO_COSTLY' } }] },
    });
    await apollo.stop();
  });

  it('costs aliased introspection by the size of its answer', async () => {
    const apollo = await server({ maxCost: 100, maxAliases: 100 });
    expect(await post(apollo, { query: '{ __schema { types { name } } }' })).toMatchObject({ status: 200 });
    // This schema's introspection answer is a few KiB: 60 copies are well over 100.
    expect(await post(apollo, { query: `{ ${aliases(60, '__schema { types { name } }')} }` })).toMatchObject({
      status: 400,
      body: { errors: [{ extensions: { code: 'QUERY_TOO_COSTLY' } }] },
    });
    await apollo.stop();
  });

  it('lets the introspection query through at the defaults', async () => {
    const apollo = await server();
    const { status, body } = await post(apollo, { query: standardIntrospection });
    expect(status).toBe(200);
    expect(body).not.toHaveProperty('errors');
    await apollo.stop();
  });

  it('refuses a query whose answer is over the size limit, but never withholds a mutation answer', async () => {
    const apollo = await server({ maxResponseBytes: 1000 });
    // {"data":{"blob":"…"}} is 20 bytes around the string.
    expect(await post(apollo, { query: '{ blob(bytes: 980) }' })).toMatchObject({ status: 200 });
    expect(await post(apollo, { query: '{ blob(bytes: 981) }' })).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message:
              'The answer is over the limit of 1000 bytes: ask for smaller pages (`first`) or fewer fields, and page through the rest.',
            extensions: { code: 'RESPONSE_TOO_LARGE' },
          },
        ],
      },
    });
    expect(await post(apollo, { query: 'mutation { blob(bytes: 5000) }' })).toMatchObject({ status: 200 });
    await apollo.stop();
  });

  it('refuses a subscription with 400 OPERATION_NOT_SUPPORTED', async () => {
    const apollo = await server();
    expect(await post(apollo, { query: 'subscription { node { id } }' })).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message:
              'Subscriptions are not served over HTTP: connect with graphql-ws (the graphql-transport-ws protocol) to the same /graphql path.',
            extensions: { code: 'OPERATION_NOT_SUPPORTED' },
          },
        ],
      },
    });
    await apollo.stop();
  });

  it('codes persisted queries Apollo refuses without a code', async () => {
    const apollo = await server();
    const query = '{ node { id } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const persisted = (version: number, hash: string) => ({ persistedQuery: { version, sha256Hash: hash } });
    expect(await post(apollo, { query, extensions: persisted(1, sha256Hash) })).toEqual({
      status: 200,
      body: { data: { node: null } },
    });
    expect(await post(apollo, { query, extensions: persisted(1, '0'.repeat(64)) })).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message: 'provided sha does not match query',
            extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' },
          },
        ],
      },
    });
    expect(await post(apollo, { query, extensions: persisted(2, sha256Hash) })).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message: 'Unsupported persisted query version',
            extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' },
          },
        ],
      },
    });
    await apollo.stop();
  });
});

describe('refusal codes', () => {
  it('are all public: maskError passes each one through', () => {
    const logger = createLogger('error', () => {});
    for (const code of REFUSAL_CODES) {
      expect(maskError({ message: 'm', extensions: { code } }, new Error('m'), logger)).toEqual({
        message: 'm',
        extensions: { code },
      });
    }
  });
});

describe('limit configuration', () => {
  it('has documented defaults', () => {
    expect(defaults).toMatchObject({
      maxDepth: 12,
      maxIntrospectionDepth: 20,
      maxCost: 20000,
      maxAliases: 30,
      maxTokens: 2000,
      maxDirectives: 50,
      maxResponseBytes: 10 * 1024 * 1024,
    });
    expect(
      loadConfig({
        GRAPHQL_MAX_DEPTH: '20',
        GRAPHQL_MAX_INTROSPECTION_DEPTH: '25',
        GRAPHQL_MAX_COST: '500',
        GRAPHQL_MAX_ALIASES: '5',
        GRAPHQL_MAX_TOKENS: '900',
        GRAPHQL_MAX_DIRECTIVES: '4',
        GRAPHQL_MAX_RESPONSE_BYTES: '65536',
      }).graphql,
    ).toMatchObject({
      maxDepth: 20,
      maxIntrospectionDepth: 25,
      maxCost: 500,
      maxAliases: 5,
      maxTokens: 900,
      maxDirectives: 4,
      maxResponseBytes: 65536,
    });
  });

  it('refuses limits that are not whole numbers of at least 1', () => {
    expect(
      configProblems({
        GRAPHQL_MAX_DEPTH: '0',
        GRAPHQL_MAX_COST: '1e4',
        GRAPHQL_MAX_ALIASES: '-1',
        GRAPHQL_MAX_RESPONSE_BYTES: '10MB',
      }),
    ).toEqual([
      'GRAPHQL_MAX_DEPTH must be a whole number of at least 1, got "0"',
      'GRAPHQL_MAX_COST must be a whole number of at least 1, got "1e4"',
      'GRAPHQL_MAX_ALIASES must be a whole number of at least 1, got "-1"',
      'GRAPHQL_MAX_RESPONSE_BYTES must be a whole number of at least 1, got "10MB"',
    ]);
  });
});
