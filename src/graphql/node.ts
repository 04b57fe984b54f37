import { brandWithType, createContextCache, type ObjectRef } from '@pothos/core';
import DataLoader from 'dataloader';
import { NotFoundError, ValidationError } from '../errors/api-error.ts';
import type { Scope } from '../organizations/scopes.ts';
import { describeValue } from '../validation/values.ts';
import { builder } from './builder.ts';
import { authenticate, authorize, type Context } from './context.ts';
import { decodeNodeId } from './node-ids.ts';

/** The most nodeIds one nodes() call takes. */
export const MAX_NODE_IDS = 100;

/** A type's objects by id for one request (its scope already checked); null for an id the token's organization does not hold. */
type NodeLoader<T> = (ctx: Context) => DataLoader<number, T | null>;

/** The nodes among `ids` that the token's organization holds, in any order (its scope already checked). */
type NodeBatch<T> = (ids: readonly number[], ctx: Context) => Promise<readonly (T | Error | null)[]> | readonly T[];

type NodeType<T extends { id: number }> = {
  /** The scope the type's own query needs; null for what any token may read (its own organization). */
  scope: Scope | null;
} & (
  | {
      /** The type's own loader (a loadable ref's getDataloader): node() then shares its batches and cache with the type's fields. */
      loader: NodeLoader<T>;
    }
  | {
      /** For a type without a loader of its own. */
      load: NodeBatch<T>;
    }
);

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

const nodeTypes = new Map<string, { scope: Scope | null; loader: NodeLoader<{ id: number }>; ref: ObjectRef<Types, unknown, { id: number }> }>();

/** One loader per request for a type without one of its own: however many node fields and nodeIds a request has, the type costs one statement. */
function loaderOf<T extends { id: number }>(load: NodeBatch<T>): NodeLoader<T> {
  return createContextCache(
    (ctx: Context) =>
      new DataLoader<number, T | null>(async (ids) => {
        const byId = new Map<number, T>();
        for (const node of await load(ids, ctx)) {
          if (node instanceof Error) throw node;
          if (node) byId.set(node.id, node);
        }
        return ids.map((id) => byId.get(id) ?? null);
      }),
  );
}

/**
 * Makes a type a Node: the relay plugin gives it the interface and its nodeId field (from the integer
 * id); node() and nodes() load it with its `loader` (or one made from `load`), once the token has `scope`.
 */
export function implementNode<P extends { id: number }>(ref: ObjectRef<Types, unknown, P>, type: NodeType<P>): void {
  // The plugin types a node's ref as resolving from its shape only; a loadable ref also resolves from its key.
  builder.nodeRef<P, number, ObjectRef<Types, P>>(ref as ObjectRef<Types, P>, { id: { resolve: (node) => node.id } });
  nodeTypes.set(ref.name, { scope: type.scope, loader: 'loader' in type ? type.loader : loaderOf(type.load), ref });
}

/** A malformed nodeId, one that never existed and another organization's all get this same answer. */
function nodeNotFound(nodeId: string, param: string): NotFoundError {
  return new NotFoundError('NODE_NOT_FOUND', { param, message: `No node with nodeId ${describeValue(nodeId)}.` });
}

/** Async, so that a refusal fails only this node; everything up to the load runs at once, so loads batch. */
async function loadNode(ctx: Context, nodeId: string, param: string): Promise<object> {
  const decoded = decodeNodeId(nodeId);
  const type = decoded ? nodeTypes.get(decoded.typename) : undefined;
  if (!decoded || !type) throw nodeNotFound(nodeId, param);
  if (type.scope !== null) authorize(ctx, type.scope);
  const node = await type.loader(ctx).load(decoded.id);
  if (!node) throw nodeNotFound(nodeId, param);
  // The Node interface resolves its type from this brand, as for the plugin's own loads.
  brandWithType(node, type.ref);
  return node;
}

const nodeScopes = 'Needs the scope of the node\'s own query (sources:read, people:read for people and companies, records:read); an organization needs none';

builder.queryFields((t) => ({
  node: t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description: `Any object by its nodeId, as Relay, Apollo and urql refetch it. ${nodeScopes}. A nodeId that is malformed, unknown or another organization's is null with NODE_NOT_FOUND.`,
    args: { nodeId: t.arg.id({ required: true, description: 'The nodeId of the object, as answered by its nodeId field.' }) },
    resolve: async (_root, args, ctx) => {
      authenticate(ctx);
      return await loadNode(ctx, args.nodeId, 'nodeId');
    },
  }),
  nodes: t.field({
    type: [builder.nodeInterfaceRef()],
    nullable: { list: false, items: true },
    description: `Objects by their nodeIds, in the order given, each as node(nodeId) answers it: one that cannot be read is null with its error beside it. ${nodeScopes}.`,
    args: { nodeIds: t.arg.idList({ required: true, description: `Up to ${MAX_NODE_IDS} nodeIds, of any types.` }) },
    resolve: (_root, args, ctx) => {
      authenticate(ctx);
      if (args.nodeIds.length > MAX_NODE_IDS) {
        throw new ValidationError('INVALID_FIELD_VALUE', { param: 'nodeIds', message: (n) => `${n('nodeIds')} may hold at most ${MAX_NODE_IDS} ids; got ${args.nodeIds.length}.` });
      }
      // A failed node is answered as an Error value, not a rejection: compiled execution (graphql-jit)
      // puts a rejected list item's null at the end of the list instead of at its index.
      return args.nodeIds.map((nodeId, index) => loadNode(ctx, nodeId, `nodeIds[${index}]`).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
    },
  }),
}));
