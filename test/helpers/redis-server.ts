import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startOnFreePort } from './process-server.ts';

/** A Redis for one test file: REDIS_URL's, or a throwaway redis-server this file started. */
export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

const SKIP_NOTICE =
  'Redis suites skipped: redis-server is not on the PATH and REDIS_URL is unset; install redis-server (apt-get install redis-server) or set REDIS_URL=redis://… to run them.';

/** CI sets REQUIRE_REDIS=true so that a missing Redis fails the run instead of skipping suites. */
const required = process.env.REQUIRE_REDIS === 'true';

function redisServerOnPath(): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((directory) => {
    if (!directory) return false;
    try {
      accessSync(path.join(directory, 'redis-server'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

let noticePrinted = false;

/**
 * Whether the suites that need a real Redis run (`describe.runIf(runRedisSuites())`): when REDIS_URL
 * is set (they use that Redis) or redis-server is on the PATH (they start their own). Otherwise they
 * are skipped, with one line saying why and how to run them; with REQUIRE_REDIS=true they run and fail.
 */
export function runRedisSuites(): boolean {
  if (process.env.REDIS_URL || redisServerOnPath() || required) return true;
  if (!noticePrinted) process.stderr.write(`${SKIP_NOTICE}\n`);
  noticePrinted = true;
  return false;
}

/** True when a Redis server answers PING at 127.0.0.1:port. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('close', () => resolve(reply.startsWith('+PONG')));
    socket.on('error', () => resolve(false));
  });
}

/** REDIS_URL's Redis when set (left running), else a throwaway redis-server on a free loopback port, keeping nothing on disk. */
export async function startRedis(): Promise<TestRedis> {
  const url = process.env.REDIS_URL;
  if (url) return { url, stop: async () => {} };
  if (!redisServerOnPath()) throw new Error('REQUIRE_REDIS=true, but redis-server is not on the PATH and REDIS_URL is unset');
  return await startOnFreePort(
    'redis-server',
    'redis-server',
    (port) => ({ args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], env: process.env, url: `redis://127.0.0.1:${port}` }),
    answersPing,
  );
}
