import { createHash } from 'node:crypto';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { maskError } from '../../src/app.ts';
import { loadConfig, type GraphQLConfig } from '../../src/config.ts';
import { configProblems } from '../support/config.ts';
import { graphqlProtection, landingPageHtml } from '../../src/graphql/index.ts';
import { SCHEMA_QUERY } from '../../src/graphql/landing-page.ts';
import { createLogger } from '../../src/log.ts';

const typeDefs = `
  "The root of reads."
  type Query {
    "A greeting."
    hello(
      "Who to greet."
      name: String
    ): String
  }
`;
const html = landingPageHtml();
const between = (open: string, close: string) =>
  html.slice(html.indexOf(open) + open.length, html.indexOf(close));

async function server(overrides: Partial<GraphQLConfig> = {}) {
  const apollo = new ApolloServer({
    typeDefs,
    resolvers: { Query: { hello: (_: unknown, args: { name?: string }) => `hello ${args.name ?? 'you'}` } },
    ...graphqlProtection({ ...loadConfig({}).graphql, ...overrides }),
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

async function request(
  apollo: ApolloServer,
  method: 'GET' | 'POST',
  headers: [string, string][],
  body?: Record<string, unknown>,
) {
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method, headers: new HeaderMap(headers), search: '', body },
    context: async () => ({}),
  });
  if (response.body.kind !== 'complete') throw new Error('expected a complete response');
  return {
    status: response.status ?? 200,
    contentType: response.headers.get('content-type'),
    body: response.body.string,
  };
}

const browser: [string, string][] = [['accept', 'text/html,application/xhtml+xml,*/*;q=0.8']];
const json: [string, string][] = [['content-type', 'application/json']];

describe('the landing page', () => {
  it('loads nothing from outside: no URL, no external script, style, image or import', () => {
    expect(html).not.toMatch(/https?:\/\/|\/\/cdn/i);
    expect(html).not.toMatch(/\b(src|href|srcset|action)\s*=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toContain("connect-src 'self'");
  });

  it('has a query editor, a variables editor, a Run button, a result panel and a schema panel', () => {
    expect(html).toContain('<textarea id="query"');
    expect(html).toContain('<textarea id="variables"');
    expect(html).toContain('<button id="run" type="button">Run</button>');
    expect(html).toContain('<pre id="result"');
    expect(html).toContain('<div id="schema"></div>');
  });

  it('has a script that parses, POSTs JSON and never renders text as HTML', () => {
    const script = between('<script>', '</script>');
    expect(() => new Function(script)).not.toThrow();
    expect(script).toContain("method: 'POST'");
    expect(script).toContain("'content-type': 'application/json'");
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('allows exactly its own inline script and style by hash', () => {
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    expect(html).toContain(`script-src ${hash(between('<script>', '</script>'))}`);
    expect(html).toContain(`style-src ${hash(between('<style>', '</style>'))}`);
  });

  it('is served to a browser GET, while JSON clients get GraphQL', async () => {
    const apollo = await server({ landingPage: true });
    expect(await request(apollo, 'GET', browser)).toEqual({
      status: 200,
      contentType: 'text/html',
      body: html,
    });
    const query = await request(apollo, 'POST', json, { query: '{ hello(name: "Ada") }' });
    expect(JSON.parse(query.body)).toEqual({ data: { hello: 'hello Ada' } });
    await apollo.stop();
  });

  it("answers its schema panel's query with documented types", async () => {
    const apollo = await server();
    const response = await request(apollo, 'POST', json, { query: SCHEMA_QUERY });
    const types = (JSON.parse(response.body) as { data: { __schema: { types: { name: string }[] } } }).data
      .__schema.types;
    expect(types.find((t) => t.name === 'Query')).toEqual({
      kind: 'OBJECT',
      name: 'Query',
      description: 'The root of reads.',
      fields: [
        {
          name: 'hello',
          description: 'A greeting.',
          args: [
            {
              name: 'name',
              description: 'Who to greet.',
              type: { kind: 'SCALAR', name: 'String', ofType: null },
            },
          ],
          type: { kind: 'SCALAR', name: 'String', ofType: null },
        },
      ],
      inputFields: null,
      enumValues: null,
    });
    await apollo.stop();
  });

  it('is not served when off: a browser GET is an ordinary GraphQL request', async () => {
    const apollo = await server({ landingPage: false });
    const response = await request(apollo, 'GET', browser);
    expect(response.contentType).not.toContain('text/html');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    await apollo.stop();
  });
});

describe('introspection', () => {
  it('is refused when off', async () => {
    const apollo = await server({ introspection: false });
    const response = await request(apollo, 'POST', json, { query: getIntrospectionQuery() });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      errors: [
        {
          message:
            'GraphQL introspection is not allowed by Apollo Server, but the query contained __schema or __type. To enable introspection, pass introspection: true to ApolloServer in production',
          locations: [{ line: 3, column: 7 }],
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
        },
      ],
    });
    await apollo.stop();
  });

  it('answers when on', async () => {
    const apollo = await server({ introspection: true });
    const response = await request(apollo, 'POST', json, { query: '{ __schema { queryType { name } } }' });
    expect(JSON.parse(response.body)).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    await apollo.stop();
  });
});

describe('introspection and landing page configuration', () => {
  it('turns both on outside production and off in production', () => {
    for (const env of [{}, { NODE_ENV: 'development' }, { NODE_ENV: 'test' }]) {
      expect(loadConfig(env).graphql).toMatchObject({ introspection: true, landingPage: true });
    }
    expect(loadConfig({ NODE_ENV: 'production' }).graphql).toMatchObject({
      introspection: false,
      landingPage: false,
    });
  });

  it('lets each be set either way', () => {
    const env = { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', GRAPHQL_LANDING_PAGE: 'false' };
    expect(loadConfig(env).graphql).toMatchObject({ introspection: true, landingPage: false });
    expect(loadConfig({ GRAPHQL_INTROSPECTION: 'false' }).graphql).toMatchObject({ introspection: false });
  });

  it('refuses anything but true or false', () => {
    expect(configProblems({ GRAPHQL_INTROSPECTION: 'yes', GRAPHQL_LANDING_PAGE: '1' })).toEqual([
      'GRAPHQL_INTROSPECTION must be true or false, got "yes"',
      'GRAPHQL_LANDING_PAGE must be true or false, got "1"',
    ]);
  });
});
