import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { send } from './http.ts';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

const handedOut = new Set<number>();

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A free TCP port on the loopback interface, chosen by the kernel and never handed out twice by this
 * process (services started side by side would otherwise race for the same one).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildService {
  url: string;
  /** The process itself, to signal it. */
  child: ChildProcess;
  /** Settles when the process has exited, with its exit code or the signal that ended it. */
  exited: Promise<ChildExit>;
  /** Everything the process printed, to explain a failed start. */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns `command`, keeping its output, and stops it with SIGTERM (SIGKILL after 5 s). */
export function spawnService(command: string, args: string[], env: NodeJS.ProcessEnv, url: string): { child: ChildProcess; service: ChildService } {
  const child = spawn(command, args, { cwd: REPOSITORY, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<ChildExit>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    service: {
      url,
      child,
      exited,
      output: () => output,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      },
    },
  };
}

/** Polls `ready` every 50 ms until it resolves true; fails early when the process exits. */
export async function waitForService(child: ChildProcess, service: ChildService, ready: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before it was ready:\n${service.output()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} was not ready after ${timeoutMs} ms:\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts `command` on a free port (`args` and `env` built from it) and waits until `ready(port)`.
 * Another program may take the port between the probe and the start; then it tries another.
 */
export async function startOnFreePort(
  what: string,
  command: string,
  start: (port: number) => { args: string[]; env: NodeJS.ProcessEnv; url: string },
  ready: (port: number) => Promise<boolean>,
): Promise<ChildService> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const { args, env, url } = start(port);
    const { child, service } = spawnService(command, args, env, url);
    try {
      await waitForService(child, service, () => ready(port), `${what} on port ${port}`);
      return service;
    } catch (error) {
      await service.stop();
      if (attempt < 3 && /EADDRINUSE|already in use/i.test(service.output())) continue;
      throw error;
    }
  }
}

/**
 * Starts the gateway as its own process (`node src/main.ts`) on a free loopback port and waits until
 * GET /healthz answers.
 */
export function startServerProcess(env: Record<string, string>): Promise<ChildService> {
  return startOnFreePort(
    'the gateway',
    process.execPath,
    (port) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env };
      // Unset means unset: a REDIS_URL, limit or database inherited from the shell must not leak into
      // the child (without DATABASE_URL it starts the embedded PostgreSQL in DATA_DIR).
      for (const name of ['REDIS_URL', 'RATE_LIMIT_PER_MINUTE', 'DATABASE_URL'] as const) if (!(name in env)) delete childEnv[name];
      return { args: ['src/main.ts'], env: childEnv, url: `http://127.0.0.1:${port}` };
    },
    async (port) => (await send(`http://127.0.0.1:${port}`, { path: '/healthz' })).status === 200,
  );
}
