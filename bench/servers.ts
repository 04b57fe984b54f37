import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/database/embedded.ts';
import type { FloorOptions } from './floor.ts';

/** A server under measurement, in a process of its own so that its CPU time and memory are its own. */
export interface ServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Variables of src/config.ts that must come from the benchmark, not from the shell it was started in. */
const CONFIG_VARIABLES = [
  'DATABASE_URL',
  'PORT',
  'HOST',
  'DATA_DIR',
  'PUBLIC_URL',
  'REDIS_URL',
  'RATE_LIMIT_PER_MINUTE',
  'IDEMPOTENCY_TTL_SECONDS',
  'MAX_CONCURRENT_REQUESTS',
  'LOG_LEVEL',
  'WORKERS',
  'CORS_ORIGINS',
];

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killed = await Promise.race([exited(child).then(() => false), sleep(15_000).then(() => true)]);
  if (killed) {
    child.kill('SIGKILL');
    await exited(child);
  }
}

/** A server left running must not outlive the benchmark, whatever stops it. */
function stopWithUs(child: ChildProcess): void {
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  void exited(child).then(() => process.off('exit', kill));
}

/** How a process of the gateway is started: environment variables set for it, node's options, and the script. */
export interface Launch {
  env: Record<string, string>;
  nodeArgs: string[];
  script: string;
}

/**
 * How `npm start` starts the gateway, read from package.json's start script, which must have the
 * shape `[VAR=value …] node [node options …] <script>`: the benchmark runs the gateway exactly so.
 */
export function startLaunch(): Launch {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts?: Record<string, string> };
  const command = manifest.scripts?.start ?? '';
  const words = command.trim().split(/\s+/);
  const env: Record<string, string> = {};
  for (let word = words[0]; word !== undefined && /^[A-Z_][A-Z0-9_]*=/.test(word); word = words[0]) {
    const at = word.indexOf('=');
    env[word.slice(0, at)] = word.slice(at + 1);
    words.shift();
  }
  const [program, ...rest] = words;
  const script = rest.pop();
  if (program !== 'node' || script === undefined || rest.some((word) => !word.startsWith('-'))) {
    throw new Error(`package.json's start script must read "[VAR=value …] node [options …] <script>", not "${command}"`);
  }
  return { env, nodeArgs: rest, script };
}

export interface GatewayOptions {
  /** Instead of package.json's start script (memory.ts compares settings). */
  launch?: Launch;
  /** Node options added to the launch's (memory.ts's probe). */
  extraNodeArgs?: string[];
  /** Variables added to the launch's environment. */
  extraEnv?: Record<string, string>;
}

/**
 * The gateway as `npm start` runs it (startLaunch) on the given database, rate limits off, logs
 * silent, no Redis; ready once /readyz answers 200. With `profileDir`, V8 writes a CPU profile of its
 * whole life there when it stops.
 */
export async function startGateway(databaseUrl: string, dataDir: string, profileDir: string | null, options: GatewayOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const launch = options.launch ?? startLaunch();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !CONFIG_VARIABLES.includes(name)));
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...launch.nodeArgs, ...(options.extraNodeArgs ?? []), ...profile, launch.script], {
    cwd: repoRoot,
    env: {
      ...env,
      ...launch.env,
      ...options.extraEnv,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  stopWithUs(child);
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the gateway exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${errors}`);
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`the gateway was not ready within 60 s:\n${errors}`);
    }
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) break;
    await sleep(100);
  }
  return { url, pid: child.pid as number, stop: () => stopProcess(child) };
}

/** The floor (floor.ts) in a child process. */
export async function startFloorProcess(options: FloorOptions): Promise<ServerProcess> {
  const child = fork(fileURLToPath(new URL('./floor.ts', import.meta.url)), { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  stopWithUs(child);
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url?: string; error?: string }) => (message.url ? resolve(message.url) : reject(new Error(`floor: ${message.error}`))));
    child.once('exit', (code) => reject(new Error(`floor: exited with ${code} before listening`)));
    child.send(options);
  });
  return { url, pid: child.pid as number, stop: () => stopProcess(child) };
}
