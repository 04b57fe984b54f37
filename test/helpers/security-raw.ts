import net from 'node:net';

/** The first response read off a raw connection, and how the connection ended. */
export interface RawExchange {
  /** 0 when nothing came back. */
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent, every response included. */
  raw: string;
  /** Milliseconds from connecting until the server closed the connection (or the exchange gave up). */
  closedAfterMs: number;
  /** False when the connection was still open after `giveUpAfterMs`. */
  closedByServer: boolean;
}

export interface RawStep {
  /** Milliseconds after connecting. */
  at: number;
  bytes: string;
}

/**
 * Writes bytes exactly as given (latin1), on a schedule, over a plain TCP connection: header values
 * that node:http and fetch refuse to send, headers or bodies that arrive slowly or never end.
 */
export function exchange(base: string, steps: readonly RawStep[], giveUpAfterMs = 5_000): Promise<RawExchange> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(Number(url.port), url.hostname);
    const timers: NodeJS.Timeout[] = [];
    const received: Buffer[] = [];
    let closedByServer = true;
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const timer of timers) clearTimeout(timer);
      const raw = Buffer.concat(received).toString('latin1');
      resolve({ ...parseFirstResponse(raw), raw, closedAfterMs: performance.now() - started, closedByServer });
    });
    for (const step of steps) {
      timers.push(
        setTimeout(() => {
          if (!socket.destroyed) socket.write(Buffer.from(step.bytes, 'latin1'));
        }, step.at),
      );
    }
    timers.push(
      setTimeout(() => {
        closedByServer = false;
        socket.destroy();
      }, giveUpAfterMs),
    );
  });
}

function parseFirstResponse(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '' };
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = raw.slice(end + 4);
  const length = Number(headers['content-length'] ?? rest.length);
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: rest.slice(0, length) };
}

/** One request's head, CRLF-terminated, with `Connection: close` unless the headers say otherwise. */
export function requestHead(method: string, path: string, headers: Record<string, string>): string {
  const all = { host: '127.0.0.1', connection: 'close', ...headers };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
}
