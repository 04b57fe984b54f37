import { Writable } from 'node:stream';

/** A pino-compatible destination that keeps every line the server logs, parsed. */
export interface LogCollector {
  stream: Writable;
  /** The raw JSON lines, in order. */
  lines: string[];
  /** The lines parsed as JSON objects. */
  entries(): Record<string, unknown>[];
}

export function collectLogs(): LogCollector {
  const lines: string[] = [];
  let pending = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = pending + chunk.toString();
      const parts = text.split('\n');
      pending = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line.length > 0));
      done();
    },
  });
  return { stream, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/**
 * A log line as someone reading the logs can read it: the line itself plus the text of every
 * serialised Buffer in it (`{"type":"Buffer","data":[…]}`), which is the same bytes, only spelled as numbers.
 */
export function readableText(line: string): string {
  const decoded: string[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object') {
      const { type, data } = value as { type?: unknown; data?: unknown };
      if (type === 'Buffer' && Array.isArray(data)) decoded.push(Buffer.from(data as number[]).toString('latin1'));
      else Object.values(value).forEach(visit);
    }
  };
  visit(JSON.parse(line));
  return [line, ...decoded].join('\n');
}
