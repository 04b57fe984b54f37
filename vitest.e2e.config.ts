import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// End-to-end tests drive a real browser (Debian's chromium); `npm run test:e2e` runs them apart from
// `npm test`. Their files end in `.e2e.ts`, which the main config's `test/**/*.test.ts` leaves out.
export default defineConfig({
  resolve: {
    // As in vitest.config.ts: one graphql copy for our code and Pothos.
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.mjs', import.meta.url)) }],
  },
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
