/**
 * What each part of the gateway's start-up costs in memory: the modules it loads, in the order the
 * server loads them, imported one group after the other into one process, each followed by two full
 * garbage collections and a reading. Run from the repository's root:
 *
 *   npx node --expose-gc --max-semi-space-size=1 --import=./src/compile-cache.js bench/start-cost.js
 *
 * (`--import=./src/compile-cache.js` as `npm start` has it: the sources load from the compile cache,
 * which it fills in a child process first when they changed, without Node's type stripper; without it
 * each TypeScript module's step also holds the stripper's work. `--max-semi-space-size=1` keeps the young generation from growing, so
 * that each step's figure is what its modules keep, not how much the loading allocated on the way.)
 * Figures in MiB: RSS and its anonymous part, V8's heap in use, and external memory (among it the
 * source text of Node's own modules). The last steps are what the server loads only when needed:
 * ioredis with REDIS_URL, and GraphiQL's bundle when a browser opens /graphql.
 *
 * Plain JavaScript on purpose: it measures what loading the first TypeScript module costs (Node's type
 * stripper), which a TypeScript script would have paid before its first line ran.
 */
import { readFileSync } from 'node:fs';

const steps = [
  ['type stripping (first .ts module)', ['../src/organizations/scopes.ts']],
  ['fastify, @fastify/cors, pino', ['fastify', '@fastify/cors', 'pino']],
  ['graphql, graphql-yoga, graphql-jit, armor, complexity', ['graphql', 'graphql-yoga', '@graphql-yoga/plugin-csrf-prevention', 'graphql-jit', '@envelop/graphql-jit', '@escape.tech/graphql-armor-max-tokens', '@escape.tech/graphql-armor-max-depth', '@escape.tech/graphql-armor-max-aliases', 'graphql-query-complexity']],
  ['@pothos/*, graphql-scalars, dataloader', ['@pothos/core', '@pothos/plugin-errors', '@pothos/plugin-dataloader', '@pothos/plugin-relay', 'graphql-scalars', 'dataloader']],
  ['@mikro-orm/* (with kysely, pg)', ['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/migrations']],
  ['zod, zod-openapi, libphonenumber-js', ['zod', 'zod-openapi', 'libphonenumber-js']],
  ['prom-client, lru-cache, rate-limiter-flexible', ['prom-client', 'lru-cache', 'rate-limiter-flexible']],
  ['src: ORM config and entities', ['../mikro-orm.config.ts']],
  ['src: the GraphQL schema (Pothos builds it)', ['../src/graphql/schema.ts']],
  ['src: REST routes (their documents)', ['../src/rest/routes.ts']],
  ['src: everything else app.ts loads', ['../src/app.ts']],
  ['(only with REDIS_URL) ioredis', ['ioredis']],
  ['(not at start) @graphql-yoga/render-graphiql', ['@graphql-yoga/render-graphiql']],
];

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
const mib = (bytes) => bytes / (1024 * 1024);

function reading() {
  globalThis.gc();
  globalThis.gc();
  const usage = process.memoryUsage();
  const anonKib = Number(/^RssAnon:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  return { rss: mib(usage.rss), anon: anonKib / 1024, heap: mib(usage.heapUsed), external: mib(usage.external) };
}

const cell = (value) => value.toFixed(1).padStart(6);
const line = (name, now, before) =>
  `| ${name.padEnd(56)} | ${cell(now.rss)} | ${before ? cell(now.rss - before.rss) : '      '} | ${before ? cell(now.anon - before.anon) : cell(now.anon)} | ${before ? cell(now.heap - before.heap) : cell(now.heap)} | ${before ? cell(now.external - before.external) : cell(now.external)} |`;

let previous = reading();
const lines = [
  `| ${'step (cumulative)'.padEnd(56)} |    RSS |   +RSS |  +anon |  +heap |   +ext |`,
  `|:${'-'.repeat(56)}-|-------:|-------:|-------:|-------:|-------:|`,
  line('node itself', previous, null),
];
for (const [name, specifiers] of steps) {
  for (const specifier of specifiers) await import(specifier.startsWith('.') ? new URL(specifier, import.meta.url).href : specifier);
  const now = reading();
  lines.push(line(name, now, previous));
  previous = now;
}
process.stdout.write(`${lines.join('\n')}\n`);
// Some modules keep handles open (timers, sockets of clients they create at import): do not wait for them.
process.exit(0);
