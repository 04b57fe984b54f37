import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body as received, for idempotency's "same request" comparison. */
    rawBody: string;
  }
}

/**
 * JSON is the only body type: anything else is UNSUPPORTED_MEDIA_TYPE, not a string to validate.
 * An empty body sent with a JSON content type (common on DELETE) counts as no body.
 */
export function acceptJsonBodiesOnly(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.decorateRequest('rawBody', '');
  // `__proto__` and `constructor` keys stay plain own properties (JSON.parse never touches
  // prototypes), so the body checks can name them as unknown fields rather than call the JSON malformed.
  const parseJson = app.getDefaultJsonParser('ignore', 'ignore');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    request.rawBody = text;
    if (text === '') return done(null, undefined);
    parseJson(request, text, done);
  });
}
