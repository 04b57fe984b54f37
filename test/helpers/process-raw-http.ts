import net from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** The bytes of an HTTP/1.1 request with a JSON body, to be sent in parts over a RawConnection. */
export function requestText(base: string, method: string, path: string, headers: Record<string, string>, body: unknown): string {
  const payload = JSON.stringify(body);
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${new URL(base).host}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${payload}`;
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
    const [statusLine = '', ...headerLines] = this.received.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.received.length < end + 4 + length) return null;
    const body = this.received.subarray(end + 4, end + 4 + length).toString('utf8');
    this.received = this.received.subarray(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }
}
