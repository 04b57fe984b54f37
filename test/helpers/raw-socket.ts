import net from 'node:net';

// Plain TCP, for what no HTTP client sends: bytes that break HTTP (header values node:http refuses),
// headers or bodies that arrive slowly or never end, a request cut at a byte of the test's choosing
// on a connection kept open. Everything else goes through http.ts.

/** The status line and headers of a response; header names lower-cased, a repeated header keeps its last value. */
interface Head {
  status: number;
  headers: Record<string, string>;
}

function parseHead(head: string): Head {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers };
}

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
 * that node:http refuses to send, headers or bodies that arrive slowly or never end.
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

function parseFirstResponse(raw: string): Head & { body: string } {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '' };
  const head = parseHead(raw.slice(0, end));
  const rest = raw.slice(end + 4);
  const length = Number(head.headers['content-length'] ?? rest.length);
  return { ...head, body: rest.slice(0, length) };
}

/** One request's head, CRLF-terminated, with `Connection: close` unless the headers say otherwise. */
export function requestHead(method: string, path: string, headers: Record<string, string>): string {
  const all = { host: '127.0.0.1', connection: 'close', ...headers };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
}

/** The bytes of a whole request with a JSON body, to be written in parts over a RawConnection. */
export function requestText(method: string, path: string, headers: Record<string, string>, json: unknown): string {
  const payload = JSON.stringify(json);
  return requestHead(method, path, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers }) + payload;
}

/** A response read off a RawConnection. */
export interface RawAnswer extends Head {
  body: string;
}

/**
 * One keep-alive TCP connection on which a test writes a request byte range by byte range, so that a
 * request is in flight (or its headers unfinished) at a moment of the test's choosing. The connection
 * stays open until the server closes it or `close()` is called, as a pooling client's would.
 */
export class RawConnection {
  private readonly socket: net.Socket;
  private received = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  closedByServer = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closedByServer = true;
      this.waiting?.();
    });
    socket.on('error', () => {});
  }

  static open(base: string): Promise<RawConnection> {
    const { hostname, port } = new URL(base);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(text, (error) => (error ? reject(error) : resolve())));
  }

  /** The next complete response (its body read by Content-Length); fails when the connection closes first. */
  async response(timeoutMs = 10_000): Promise<RawAnswer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = this.takeResponse();
      if (answer) return answer;
      if (this.closedByServer) throw new Error(`the connection closed before a complete response; received: ${JSON.stringify(this.received.toString())}`);
      if (Date.now() > deadline) throw new Error(`no complete response within ${timeoutMs} ms; received: ${JSON.stringify(this.received.toString())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = null;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private takeResponse(): RawAnswer | null {
    const end = this.received.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = parseHead(this.received.subarray(0, end).toString('latin1'));
    const length = Number(head.headers['content-length'] ?? 0);
    if (this.received.length < end + 4 + length) return null;
    const body = this.received.subarray(end + 4, end + 4 + length).toString('utf8');
    this.received = this.received.subarray(end + 4 + length);
    return { ...head, body };
  }
}
