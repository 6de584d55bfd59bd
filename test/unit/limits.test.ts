import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  buildSchema,
  getIntrospectionQuery,
  parse,
  specifiedRules,
  validate,
  type ValidationRule,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadTypeDefs, maskError } from '../../src/app.ts';
import { loadConfig, type GraphQLConfig } from '../../src/config.ts';
import { configProblems } from '../support/config.ts';
import { costLimitRule, depthLimitRule, graphqlProtection } from '../../src/graphql/index.ts';
import { createLogger } from '../../src/log.ts';

const typeDefs = `
  type Query {
    node: Node
    nodes(first: Int): [Node!]!
    items: [Node!]!
    paged(first: Int = 5): [Node!]!
    connection(first: Int! = 20): Connection!
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
const defaults = loadConfig({}).graphql;

function check(query: string, rules: ValidationRule[]) {
  return validate(schema, parse(query), [...specifiedRules, ...rules]).map((e) => e.toJSON());
}

const tooDeep = (depth: number, limit: number, line = 1, column = 1) => ({
  message: `Operation depth ${depth} exceeds the limit of ${limit}: select less deeply nested fields or split the operation.`,
  locations: [{ line, column }],
  extensions: { code: 'QUERY_TOO_DEEP' },
});
const tooCostly = (cost: number, limit: number) => ({
  message: `Operation cost ${cost} exceeds the limit of ${limit}: ask for smaller pages (\`first\`) or fewer nested lists.`,
  locations: [{ line: 1, column: 1 }],
  extensions: { code: 'QUERY_TOO_COSTLY' },
});

describe('depthLimitRule', () => {
  it('counts a root field as depth 1 and refuses one level past the limit', () => {
    expect(check('{ node { child { child { id } } } }', [depthLimitRule(4)])).toEqual([]);
    expect(check('{ node { child { child { id } } } }', [depthLimitRule(3)])).toEqual([tooDeep(4, 3)]);
  });

  it('follows fragment spreads and inline fragments', () => {
    const query = 'query Q { node { ...F } }\nfragment F on Node { child { ... on Node { child { id } } } }';
    expect(check(query, [depthLimitRule(3)])).toEqual([tooDeep(4, 3)]);
    expect(check(query, [depthLimitRule(4)])).toEqual([]);
  });

  it('takes the deepest branch and checks every operation', () => {
    const query = 'query A { node { id } items { child { child { id } } } }\nquery B { node { id } }';
    expect(check(query, [depthLimitRule(3)])).toEqual([tooDeep(4, 3)]);
  });

  it('ignores __typename', () => {
    expect(check('{ node { child { __typename } } }', [depthLimitRule(2)])).toEqual([]);
  });

  it('survives a fragment cycle, which graphql-js reports itself', () => {
    const errors = check('{ node { ...A } }\nfragment A on Node { child { ...A } }', [depthLimitRule(2)]);
    expect(errors.map((e) => e.message)).toEqual(['Cannot spread fragment "A" within itself.']);
  });
});

describe('costLimitRule', () => {
  it('multiplies the sub-selection by a literal `first`', () => {
    // 1 (nodes) + 3 × (id + tags) = 7
    expect(check('{ nodes(first: 3) { id tags } }', [costLimitRule(7)])).toEqual([]);
    expect(check('{ nodes(first: 3) { id tags } }', [costLimitRule(6)])).toEqual([tooCostly(7, 6)]);
  });

  it('counts a variable `first` as 100 when it cannot see the variables', () => {
    const query = 'query ($n: Int) { nodes(first: $n) { id } }';
    expect(check(query, [costLimitRule(100)])).toEqual([tooCostly(101, 100)]);
  });

  it('reads a variable `first` when given the variables, and its declared default when absent', () => {
    const query = 'query ($n: Int = 4) { nodes(first: $n) { id } }';
    const cost = (variables: Record<string, unknown>) =>
      check(query, [costLimitRule(0, variables)]).map((e) => e.message.split(' ')[2]);
    expect(cost({ n: 2 })).toEqual(['3']);
    expect(cost({})).toEqual(['5']);
    // null is no `first` at all: a list without one counts 10.
    expect(cost({ n: null })).toEqual(['11']);
  });

  it('counts a list without `first` as 10 items, a schema default `first` as its value, and nests', () => {
    // items: 1 + 10 × (children: 1 + 4 × (tags: 1)) = 51; paged: 1 + 5 × (id: 1) = 6
    expect(check('{ items { children(first: 4) { tags } } paged { id } }', [costLimitRule(56)])).toEqual([
      tooCostly(57, 56),
    ]);
  });

  it("counts a connection's list as the page that `first` already counted", () => {
    // 1 + 5 × (nodes: 1 + 1 × (id + tags) + total: 1) = 21
    expect(check('{ connection(first: 5) { nodes { id tags } total } }', [costLimitRule(20)])).toEqual([
      tooCostly(21, 20),
    ]);
    // 1 + 20 (the default) × (nodes: 1 + 1 × (children: 1 + 10 × (id: 1))) = 241; lists below are lists
    const query = '{ connection { ...Page } }\nfragment Page on Connection { nodes { children { id } } }';
    expect(check(query, [costLimitRule(240)])).toEqual([tooCostly(241, 240)]);
  });

  it('follows fragments and counts each spread', () => {
    // 1 + 2 × (F + F) where F = children: 1 + 3 × (id: 1) = 4, so 1 + 2 × 8 = 17
    const query =
      '{ nodes(first: 2) { ...F ... on Node { ...F } } }\nfragment F on Node { children(first: 3) { id } }';
    expect(check(query, [costLimitRule(16)])).toEqual([tooCostly(17, 16)]);
  });
});

describe('the introspection query', () => {
  const query = getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
  });

  it('passes the default limits on our schema (it is 15 fields deep; introspection is not counted)', () => {
    const ours = buildSchema(loadTypeDefs());
    const rules = [depthLimitRule(defaults.maxDepth), costLimitRule(defaults.maxCost)];
    expect(validate(ours, parse(query), [...specifiedRules, ...rules])).toEqual([]);
  });

  it('is still bounded by graphql-js when it recurses', () => {
    const errors = check(
      '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }',
      [depthLimitRule(1)],
    );
    expect(errors.map((e) => e.message)).toEqual(['Maximum introspection depth exceeded']);
  });
});

/** A server protected as createApp protects ours, with the same error masking. */
async function server(overrides: Partial<GraphQLConfig> = {}) {
  const apollo = new ApolloServer({
    typeDefs,
    resolvers: { Query: { nodes: () => [{ id: '1', tags: [] }] } },
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
  it('answers a too-deep operation with 400 and QUERY_TOO_DEEP, not GRAPHQL_VALIDATION_FAILED', async () => {
    const apollo = await server({ maxDepth: 2 });
    expect(await post(apollo, { query: '{ node { child { id } } }' })).toEqual({
      status: 400,
      body: { errors: [tooDeep(3, 2)] },
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
      body: { errors: [{ message: tooCostly(61, 50).message, extensions: { code: 'QUERY_TOO_COSTLY' } }] },
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

  it('lets the introspection query through at the defaults', async () => {
    const apollo = await server();
    const { status, body } = await post(apollo, { query: getIntrospectionQuery() });
    expect(status).toBe(200);
    expect(body).not.toHaveProperty('errors');
    await apollo.stop();
  });
});

describe('limit configuration', () => {
  it('defaults to depth 12 and cost 20000', () => {
    expect(defaults).toMatchObject({ maxDepth: 12, maxCost: 20000 });
    expect(loadConfig({ GRAPHQL_MAX_DEPTH: '20', GRAPHQL_MAX_COST: '500' }).graphql).toMatchObject({
      maxDepth: 20,
      maxCost: 500,
    });
  });

  it('refuses limits that are not whole numbers of at least 1', () => {
    expect(configProblems({ GRAPHQL_MAX_DEPTH: '0', GRAPHQL_MAX_COST: '1e4' })).toEqual([
      'GRAPHQL_MAX_DEPTH must be a whole number of at least 1, got "0"',
      'GRAPHQL_MAX_COST must be a whole number of at least 1, got "1e4"',
    ]);
  });
});
