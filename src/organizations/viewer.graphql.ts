import { builder } from '../graphql/builder.ts';
import { authenticate } from '../graphql/context.ts';
import { implementNode } from '../graphql/node.ts';
import type { Viewer } from './viewer.ts';

const OrganizationRef = builder.objectRef<{ id: number; name: string }>('Organization').implement({
  description: 'The tenant an API token belongs to; it sees only its own data.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The organization\'s id.' }),
    name: t.exposeString('name', { description: 'The organization\'s name, as given to npm run keys -- create --org.' }),
  }),
});
// A token reads its own organization, with no scope; any other is as unknown as one that never existed.
implementNode(OrganizationRef, {
  scope: null,
  load: (ids, ctx) => {
    const viewer = authenticate(ctx);
    return ids.includes(viewer.organizationId) ? [{ id: viewer.organizationId, name: viewer.organizationName }] : [];
  },
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The API token making the request.',
  fields: (t) => ({
    organization: t.field({
      type: OrganizationRef,
      description: 'The organization whose data the token reads and writes.',
      resolve: (viewer) => ({ id: viewer.organizationId, name: viewer.organizationName }),
    }),
    apiKeyId: t.exposeID('apiKeyId', { description: 'The id of the token, as listed by npm run keys -- list.' }),
    scopes: t.stringList({ description: 'What the token may do, e.g. records:read or people:write.', resolve: (viewer) => [...viewer.scopes] }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'The API token making the request: its organization and scopes. Needs a token but no scope.',
    resolve: (_root, _args, ctx) => authenticate(ctx),
  }),
);
