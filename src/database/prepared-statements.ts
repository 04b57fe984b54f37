import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

// PostgreSQL parses, analyses and plans every unnamed statement anew; for the ingest statement (five
// CTEs) planning alone took as long as running it (0.5 ms each). A statement sent with a name is
// parsed once per connection, and once PostgreSQL finds its generic plan no dearer than the ones it
// made for the values given, it is not planned again. Statements opt in (`query(em, statement,
// { prepared: true })`): only those whose plan fits every value they take, which excludes filters and
// searches, whose best plan depends on how many rows the values match.

/** What a statement's text starts with when it is to be sent by name. */
export const PREPARED_MARK = '/* prepared */ ';
/** Named statements a connection keeps at most; beyond them, statements go unnamed. */
export const MAX_NAMED_PER_CONNECTION = 100;

const names = new LRUCache<string, string>({ max: 500 });

/** The name to send `text` under, or null to send it unnamed (not marked, or no room left on this connection). */
export function statementName(text: string, named: Set<string>): string | null {
  if (!text.startsWith(PREPARED_MARK)) return null;
  let name = names.get(text);
  if (name === undefined) {
    name = `s_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
    names.set(text, name);
  }
  if (named.has(name)) return name;
  if (named.size >= MAX_NAMED_PER_CONNECTION) return null;
  named.add(name);
  return name;
}
