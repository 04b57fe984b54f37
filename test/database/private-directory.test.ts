import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../helpers/http.ts';
import { type ChildExit, type ChildService, startServerProcess } from '../helpers/process-server.ts';

// A clone under /root or in a `mktemp -d` folder: directories PostgreSQL's user cannot enter when the
// gateway runs as root. It must start there all the same, or say in one line what to do.

const exec = promisify(execFile);
const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const isRoot = process.getuid?.() === 0;

const cleanups: (() => Promise<unknown>)[] = [];

/** Start-up's one line when PostgreSQL's user cannot get in: the first directory in the way, its mode and owner, and the directories to open. */
const REFUSAL =
  /^Cannot open the database: the embedded PostgreSQL runs as the postgres user, which cannot enter (\S+) \((d\S{9}) (\S+)\), and no private mount namespace can be made here to let it in \(unshare: .*Operation not permitted\)\. Fix: chmod o\+x (.+), or set DATABASE_URL to a PostgreSQL of your own\.$/;

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}

/** A fresh directory of mode 700 owned by this user, removed after the file's tests. */
async function privateDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'feedback-private-'));
  await chmod(directory, 0o700);
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

describe('a data directory below a mode-700 parent', () => {
  let parent: string;
  let pgData: string;
  let server: ChildService;
  let postmasterPid: number;
  let exit: ChildExit;

  beforeAll(async () => {
    parent = await privateDirectory();
    const dataDir = path.join(parent, 'data');
    pgData = path.join(dataDir, 'postgres');
    cleanups.push(async () => {
      // A PostgreSQL left behind by a failed stop goes before its files do.
      if (postmasterPid > 0 && isRunning(postmasterPid)) process.kill(postmasterPid, 'SIGQUIT');
    });
    server = await startServerProcess({ DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: '0' });
    cleanups.push(() => server.stop());
    postmasterPid = Number((await readFile(path.join(pgData, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  }, 60_000);

  it('serves: /readyz answers 200 once the embedded PostgreSQL is migrated', async () => {
    expect((await send(server.url, { path: '/readyz' })).status).toBe(200);
  });

  it(`runs PostgreSQL as ${isRoot ? 'the postgres user, not root' : 'this user'}`, async () => {
    const status = await readFile(`/proc/${postmasterPid}/status`, 'utf8');
    const realUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    const expected = isRoot ? Number((await exec('id', ['-u', 'postgres'])).stdout) : process.getuid?.();
    expect(realUid).toBe(expected);
    expect(realUid).not.toBe(0);
  });

  it('stops PostgreSQL with the server on SIGINT', async () => {
    server.child.kill('SIGINT');
    exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(isRunning(postmasterPid)).toBe(false);
    expect(existsSync(path.join(pgData, 'postmaster.pid'))).toBe(false);
  });

  it('leaves the parent directory as it was: mode 700', async () => {
    expect((await stat(parent)).mode & 0o777).toBe(0o700);
  });
});

// Without CAP_SYS_ADMIN (an unprivileged container) no private mount namespace can be made; only root
// meets this case, since any other user runs PostgreSQL as itself.
describe.runIf(isRoot)('as root without CAP_SYS_ADMIN, a data directory below a mode-700 parent', () => {
  let parent: string;
  let dataDir: string;
  let result: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    parent = await privateDirectory();
    dataDir = path.join(parent, 'data');
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' };
    delete env.DATABASE_URL;
    const dropSysAdmin = ['--bounding-set=-sys_admin', '--inh-caps=-sys_admin'];
    result = await exec('setpriv', [...dropSysAdmin, process.execPath, 'src/main.ts'], { cwd: REPOSITORY, env, timeout: 30_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number | null; stdout: string; stderr: string }) => error,
    );
  }, 60_000);

  it('stops with exit code 1', () => {
    expect(result.code).toBe(1);
  });

  it('prints one line naming the first directory PostgreSQL cannot enter and the fix', async () => {
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const match = REFUSAL.exec(lines[0] ?? '');
    expect(match, lines[0]).not.toBeNull();
    const [, first = '', mode = '', owner, fix = ''] = match ?? [];
    // The data directory's parent is the last to open; a clone in a private directory adds that one first.
    const toOpen = fix.split(' ');
    expect(toOpen[0]).toBe(first);
    expect(toOpen.at(-1)).toBe(parent);
    for (const directory of toOpen) expect((await stat(directory)).mode & 0o001, directory).toBe(0);
    expect(mode).toMatch(/^d.{8}[-T]$/);
    expect(owner).toBe('root');
    expect(result.stdout).toBe('');
  });

  it('has initialised nothing: the data directory holds no cluster and no credentials', async () => {
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('leaves the parent directory as it was: mode 700', async () => {
    expect((await stat(parent)).mode & 0o777).toBe(0o700);
  });
});
