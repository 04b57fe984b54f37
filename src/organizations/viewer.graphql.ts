import { builder } from '../graphql/builder.ts';
import { AuthenticationError } from '../errors/api-error.ts';
import type { Viewer } from './viewer.ts';

const OrganizationRef = builder.objectRef<{ id: number; name: string }>('Organization').implement({
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name') }),
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The API token making the request.',
  fields: (t) => ({
    organization: t.field({ type: OrganizationRef, resolve: (viewer) => ({ id: viewer.organizationId, name: viewer.organizationName }) }),
    apiKeyId: t.id({ resolve: (viewer) => viewer.apiKeyId }),
    scopes: t.stringList({ resolve: (viewer) => [...viewer.scopes] }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    resolve: (_root, _args, ctx) => {
      if (!ctx.viewer) throw new AuthenticationError('API_TOKEN_MISSING');
      return ctx.viewer;
    },
  }),
);
