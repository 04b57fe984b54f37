import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { printBanner } from '../../src/start-up.ts';
import { send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Issue #14: the start-up banner, GraphiQL's default tab and the README name the playground, the
// error codes, the status page and the Postman collection.

const TOOLS = ['/docs', '/docs/errors', '/status', '/v3/rest/postman.json'];

describe('the start-up banner', () => {
  it('names the address of each tool', () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => {
      lines.push(line);
    });
    try {
      printBanner(loadConfig({ PORT: '4000' }), { description: 'embedded PostgreSQL in /srv/gateway/.data' }, 4000, null);
    } finally {
      log.mockRestore();
    }
    expect(lines).toEqual(
      expect.arrayContaining([
        '  GraphiQL:           http://localhost:4000/graphql',
        '  REST playground:    http://localhost:4000/docs',
        '  Postman collection: http://localhost:4000/v3/rest/postman.json',
        '  Error codes:        http://localhost:4000/docs/errors',
        '  Status:             http://localhost:4000/status',
      ]),
    );
  });
});

describe("GraphiQL's default tab", () => {
  let server: TestServer;
  let page: string;

  beforeAll(async () => {
    server = await startTestServer();
    page = (await send(server.url, { path: '/graphql', headers: { accept: 'text/html' } })).text;
  });

  afterAll(() => server.close());

  it('names each tool in its comment', () => {
    const comment = /# Also on this server: [^`"]*?\/status\./.exec(page.replace(/\\n/g, '\n'))?.[0] ?? '';
    for (const path of TOOLS) expect(comment).toContain(path);
  });
});

describe('the README', () => {
  let readme: string;

  beforeAll(async () => {
    readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  });

  it('names each tool in its quick start', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Your first feedback'));
    for (const path of TOOLS) expect(quickStart).toContain(`http://localhost:4000${path}`);
  });

  it('says how to import the Postman collection and set its token', () => {
    expect(readme).toContain('*File → Import*, paste that\n  link (or drop the downloaded file)');
    expect(readme).toContain('set `token` to your\n  API token');
  });

  it('says the status page is public, what it shows, and whose figures they are with several workers', () => {
    const status = readme.slice(readme.indexOf('- **Status page**'));
    expect(status).toContain('It is public, like `/healthz`');
    expect(status).toContain('shows the figures of the process that answered');
  });
});
