import type { FastifyInstance } from 'fastify';
import type { Options } from 'openapi-to-postmanv2';
import { z } from 'zod';
import { REST_PREFIX } from '../rest/register.ts';

const POSTMAN_PATH = `${REST_PREFIX}/postman.json`;

const OPTIONS: Options = {
  // One folder per tag of the document, requests named by their summaries.
  folderStrategy: 'Tags',
  requestNameSource: 'Fallback',
  // Bodies, parameters and responses from the document's examples rather than made-up values.
  parametersResolution: 'Example',
  // Every request takes the collection's auth, i.e. the token variable.
  alwaysInheritAuthentication: true,
  // Optional query parameters and headers are listed, unticked.
  enableOptionalParameters: false,
};

// What the collection is read as, to adjust it; everything else passes through untouched.
const Header = z.looseObject({ key: z.string(), value: z.string().optional() });
interface Item {
  name?: string;
  request?: { header?: z.infer<typeof Header>[] };
  response?: { name?: string }[];
  item?: Item[];
}
const ItemSchema: z.ZodType<Item> = z.looseObject({
  name: z.string().optional(),
  request: z.looseObject({ header: z.array(Header).optional() }).optional(),
  response: z.array(z.looseObject({ name: z.string().optional() })).optional(),
  get item() {
    return z.array(ItemSchema).optional();
  },
});
const CollectionSchema = z.looseObject({
  info: z.looseObject({ name: z.string(), schema: z.string(), description: z.looseObject({ content: z.string() }).optional() }),
  item: z.array(ItemSchema),
});
type PostmanCollection = z.infer<typeof CollectionSchema> & { variable: unknown[]; auth: unknown };

/** Markdown links read as their text: example names are plain text in Postman. */
const withoutLinks = (text: string) => text.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');

function adjust(items: Item[]): void {
  for (const item of items) {
    for (const response of item.response ?? []) if (response.name) response.name = withoutLinks(response.name);
    // Postman's dynamic variable: a fresh UUID on every send, once the header is ticked.
    for (const header of item.request?.header ?? []) if (header.key === 'Idempotency-Key') header.value = '{{$guid}}';
    adjust(item.item ?? []);
  }
}

/**
 * The Postman v2.1 collection of the OpenAPI document, converted by Postman's own converter, with
 * two collection variables: baseUrl (PUBLIC_URL) and token, which every request's auth sends as
 * x-api-token.
 */
async function postmanCollection(openApi: string, publicUrl: string): Promise<PostmanCollection> {
  const { default: converter } = await import('openapi-to-postmanv2');
  const output = await new Promise<unknown>((resolve, reject) => {
    converter.convertV2({ type: 'string', data: openApi }, OPTIONS, (error, result) => {
      if (error || !result?.result) reject(new Error(`The OpenAPI document did not convert to a Postman collection: ${error?.message ?? result?.reason}`));
      else resolve(result.output?.[0]?.data);
    });
  });
  const collection = CollectionSchema.parse(output);
  adjust(collection.item);
  if (collection.info.description) {
    collection.info.description.content += `\n\nSet the collection variable token to your API token; baseUrl is ${publicUrl}. Error codes: ${publicUrl}/docs/errors.`;
  }
  return {
    ...collection,
    variable: [
      { key: 'baseUrl', value: publicUrl, type: 'string' },
      { key: 'token', value: '', type: 'string', description: 'Your API token (fgw_…), sent as x-api-token by every request.' },
    ],
    auth: {
      type: 'apikey',
      apikey: [
        { key: 'key', value: 'x-api-token', type: 'string' },
        { key: 'value', value: '{{token}}', type: 'string' },
        { key: 'in', value: 'header', type: 'string' },
      ],
    },
  };
}

/**
 * GET /v3/rest/postman.json. The converter holds about 56 MiB once loaded and takes a quarter of a
 * second, so the collection is made on the first request and kept, not in every process at start.
 */
export function registerPostmanRoute(app: FastifyInstance, openApi: () => string, publicUrl: string): void {
  let made: Promise<string> | undefined;
  app.get(POSTMAN_PATH, async (_request, reply) => {
    made ??= postmanCollection(openApi(), publicUrl)
      .then((collection) => JSON.stringify(collection))
      .catch((error: unknown) => {
        made = undefined;
        throw error;
      });
    return reply
      .type('application/json; charset=utf-8')
      .header('Content-Disposition', 'attachment; filename="feedback-gateway.postman_collection.json"')
      .send(await made);
  });
}
