import { PermissionError } from '../errors/api-error.ts';
import type { Scope } from './scopes.ts';

/** Who is calling: the organization and scopes of the API token that authenticated the request. */
export interface Viewer {
  organizationId: number;
  organizationName: string;
  apiKeyId: number;
  scopes: readonly Scope[];
}

export function assertScope(viewer: Viewer, scope: Scope): void {
  if (!viewer.scopes.includes(scope)) {
    throw new PermissionError('INSUFFICIENT_SCOPE', {
      message: `This API token lacks the ${scope} scope.`,
      suggestion: `Use a token with the ${scope} scope (npm run keys -- create --org <name> --scopes ${scope},...).`,
    });
  }
}
