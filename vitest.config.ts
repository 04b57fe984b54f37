import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Vitest resolves with the `development` condition, which would give our code graphql's __dev__
    // build while Pothos (loaded by Node) gets the regular one; two graphql copies cannot mix.
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.mjs', import.meta.url)) }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL for the run; every test file gets its own database cloned from a migrated template.
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
