// Lists are read a page at a time in the order of an index (keyset pagination): a page starts after
// the sort key of the last row of the previous one. The query that lists rows owns that key: what a
// cursor holds of a row, and the position a cursor's key stands for.

/** The sort key of a row as a cursor holds it: plain JSON values. */
export type CursorKey = readonly (string | number)[];

/** One page of a listing: how many rows, after which position (null: from the start). */
export interface Page<Position> {
  limit: number;
  after: Position | null;
}

/** How a listing is ordered: the key a cursor holds for a row, and the position a key stands for (null for a key no row of it has). */
export interface Keyset<Row, Position> {
  keyOf(row: Row): CursorKey;
  positionOf(key: CursorKey): Position | null;
}

/** Newest first by id: the key is the id. */
export const byId: Keyset<{ id: number }, number> = {
  keyOf: (row) => [row.id],
  positionOf: (key) => (key.length === 1 && typeof key[0] === 'number' ? key[0] : null),
};

/**
 * A listing whose order or filter the client chooses: its cursors carry `scope` (the order and a
 * digest of the filter), so a cursor of one scope is no position in another. A null scope leaves the
 * keys as `keyset` writes them.
 */
export function scopedKeyset<Row, Position>(keyset: Keyset<Row, Position>, scope: string | null): Keyset<Row, Position> {
  if (scope === null) return keyset;
  return {
    keyOf: (row) => [scope, ...keyset.keyOf(row)],
    positionOf: (key) => (key[0] === scope ? keyset.positionOf(key.slice(1)) : null),
  };
}
