import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql 16 ships both an ES-module and a CommonJS build. Node (and so Apollo Server, and `npm start`)
// loads the CommonJS one; vite would give our sources the ES one, and graphql refuses to mix the two.
const graphqlCjs = createRequire(import.meta.url).resolve('graphql');

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlCjs }] },
  test: {
    include: ['test/**/*.test.ts'],
    // One real Neo4j per run (test/support/global-setup.ts); each test isolates itself by its own space.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
