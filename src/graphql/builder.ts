import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import type { Context } from './context.ts';
import { encodeNodeId } from './node-ids.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  Scalars: {
    ID: { Input: string; Output: number };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  // Errors before dataloader, so failures while loading a returned id still become union members.
  plugins: [ErrorsPlugin, DataloaderPlugin, RelayPlugin],
  defaultFieldNullability: false,
  // Empty on purpose: a catch-all error type would turn an outage into a union member instead of a server error.
  errors: { defaultTypes: [] },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // `id` stays the integer of the REST API; the global id of a Node is `nodeId`.
    idFieldName: 'nodeId',
    encodeGlobalID: encodeNodeId,
    nodeTypeOptions: { description: 'An object with a globally unique nodeId, which node(nodeId) and nodes(nodeIds) load.' },
    idFieldOptions: {
      description: 'A globally unique, opaque id, to refetch the object with node(nodeId) and to key it in client caches (Relay, Apollo, urql); id stays its number in the API.',
    },
    // The plugin's node and nodes take `id`/`ids` and fail as a whole; node.ts defines ours.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: { list: false, items: false } },
    // Every connection answers its nodes beside its edges, for clients that need no cursor per item.
    nodesOnConnection: { description: 'The items on this page, without their cursors (the nodes of edges, in the same order).' },
    // An edge's node is a plain property: marked exposed, compiled execution reads it inline rather than
    // calling a resolver with a path and resolve info of its own for every edge of a page.
    nodeFieldOptions: { nullable: false, extensions: { pothosExposedField: 'node' } },
    // Relay's generated types and fields are part of the public schema, so they are described here once.
    pageInfoTypeOptions: { description: 'Where a page sits in its list, and the cursors to ask for the next one.' },
    pageInfoFieldOptions: { description: 'Whether more items follow, and the cursor to fetch them with.' },
    hasNextPageFieldOptions: { description: 'True when more items follow this page; ask for them with after: endCursor.' },
    hasPreviousPageFieldOptions: { description: 'True when this page was asked for with after, so items precede it.' },
    startCursorFieldOptions: { description: 'The cursor of the first item on this page; null when the page is empty.' },
    endCursorFieldOptions: { description: 'The cursor of the last item on this page, to pass as after for the next page; null when the page is empty.' },
    cursorFieldOptions: { description: 'An opaque position in the list; pass it as after to get the items that follow this one.' },
  },
});

builder.queryType({ description: 'Reads: the token\'s own view, and the organization\'s sources, people and records.' });
builder.mutationType({ description: 'Writes: each answers a union of its success type and the errors it can meet.' });
builder.subscriptionType({
  description:
    'Live events, each sent once its write has committed: over server-sent events (POST or GET /graphql with Accept: text/event-stream) or WebSocket (the graphql-transport-ws protocol at /graphql, token in connectionParams).',
});
