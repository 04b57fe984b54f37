import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError } from '../errors/api-error.ts';
import type { TokenCache } from '../organizations/token-cache.ts';
import { viewerOf } from './auth.ts';
import type { RateLimiter } from './rate-limit.ts';

/**
 * What every API request passes before its route: authentication, then the rate limit. A request
 * whose token is refused is still counted, against its client address, so guessing tokens is
 * limited too; its refusal is raised only after counting.
 */
export function apiPipeline(tokens: TokenCache, limiter: RateLimiter | null, tokenRequired: (request: FastifyRequest) => boolean) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let refusal: AuthenticationError | null = null;
    try {
      request.viewer = await viewerOf(tokens, request.headers);
      if (!request.viewer && tokenRequired(request)) refusal = new AuthenticationError('API_TOKEN_MISSING');
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      refusal = error;
    }
    await limiter?.consume(request.viewer ? `token:${request.viewer.apiKeyId}` : `address:${request.ip}`, reply);
    if (refusal) throw refusal;
  };
}
