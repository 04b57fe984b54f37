import { parseId } from '../validation/ids.ts';

/** Longer than any nodeId this API writes ("FeedbackRecord:" and 16 digits), so a longer one is not decoded at all. */
const MAX_NODE_ID_LENGTH = 64;

/**
 * A node's global id: base64url (no padding) of "TypeName:id". Opaque to clients; it only has to be
 * unique across types, as the integer ids are not.
 */
export function encodeNodeId(typename: string, id: bigint | number | string): string {
  return Buffer.from(`${typename}:${id}`).toString('base64url');
}

/**
 * The type name and integer id of a nodeId, or null for any text this API would not have written:
 * only the canonical encoding decodes, so each node has exactly one nodeId.
 */
export function decodeNodeId(nodeId: string): { typename: string; id: number } | null {
  if (nodeId.length > MAX_NODE_ID_LENGTH || !/^[\w-]+$/.test(nodeId)) return null;
  const match = /^([A-Z][A-Za-z]*):(.*)$/.exec(Buffer.from(nodeId, 'base64url').toString('utf8'));
  const typename = match?.[1];
  const id = parseId(match?.[2]);
  if (typename === undefined || id === null || encodeNodeId(typename, id) !== nodeId) return null;
  return { typename, id };
}
