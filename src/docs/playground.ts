import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { FastifyApiReferenceOptions } from '@scalar/fastify-api-reference';
import { REST_PREFIX } from '../rest/register.ts';

const PLAYGROUND_PATH = '/docs';
const SCRIPT_PATH = `${PLAYGROUND_PATH}/js/scalar.js`;

/**
 * Scalar's API reference and client, reading the live OpenAPI document. Everything it loads comes
 * from this server: its script is served below, and the options that would reach Scalar's services
 * (fonts, telemetry, the AI agent, MCP, the developer toolbar) are off.
 */
const configuration: FastifyApiReferenceOptions['configuration'] = {
  url: `${REST_PREFIX}/openapi.json`,
  // Absolute, so that the page works at /docs as well as /docs/.
  cdn: SCRIPT_PATH,
  pageTitle: 'REST API · Feedback gateway',
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  mcp: { disabled: true },
  // The document's server is PUBLIC_URL; the page sends to the origin it was loaded from, so it
  // works however the gateway is reached (and needs no CORS).
  servers: [{ url: '/', description: 'This gateway' }],
  authentication: { preferredSecurityScheme: 'apiToken' },
  // The token a visitor pastes stays in this browser's local storage, as GraphiQL's headers do.
  persistAuth: true,
  defaultHttpClient: { targetKey: 'shell', clientKey: 'curl' },
};

interface Playground {
  html: string;
  script: string;
}

/**
 * Renders the page and reads the script through Scalar's Fastify integration, once. Its script
 * (4 MB of JavaScript) holds about 38 MiB once loaded, so it loads on the first view rather than
 * in every server process at start, as GraphiQL does.
 */
async function loadPlayground(): Promise<Playground> {
  const { default: apiReference } = await import('@scalar/fastify-api-reference');
  const scalar: FastifyInstance = Fastify({ logger: false });
  try {
    await scalar.register(apiReference, { routePrefix: PLAYGROUND_PATH, configuration });
    const [page, script] = await Promise.all([scalar.inject(`${PLAYGROUND_PATH}/`), scalar.inject(SCRIPT_PATH)]);
    if (page.statusCode !== 200 || script.statusCode !== 200) throw new Error(`Scalar answered ${page.statusCode} for its page and ${script.statusCode} for its script`);
    return { html: page.body, script: script.body };
  } finally {
    await scalar.close();
  }
}

/** The REST playground: GET /docs (and /docs/) and the script it loads. */
export function registerPlayground(app: FastifyInstance): void {
  let loaded: Promise<Playground> | undefined;
  const playground = () => {
    loaded ??= loadPlayground().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  const page = async (_request: unknown, reply: FastifyReply) => reply.type('text/html; charset=utf-8').send((await playground()).html);
  app.get(PLAYGROUND_PATH, page);
  app.get(`${PLAYGROUND_PATH}/`, page);
  app.get(SCRIPT_PATH, async (_request, reply) => reply.type('application/javascript; charset=utf-8').send((await playground()).script));
}
