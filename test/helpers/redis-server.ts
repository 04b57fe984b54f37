import net from 'node:net';
import { type ChildService, startOnFreePort } from './process-server.ts';

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

/** A throwaway redis-server on a free loopback port, keeping nothing on disk. */
export function startRedis(): Promise<ChildService> {
  return startOnFreePort(
    'redis-server',
    'redis-server',
    (port) => ({ args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], env: process.env, url: `redis://127.0.0.1:${port}` }),
    answersPing,
  );
}
