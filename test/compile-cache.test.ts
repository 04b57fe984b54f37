import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Issue #10 item 8: RSS after start stays as low on the first start after installing or changing the
// sources (a cold compile cache) as on any later one. Node's type stripper, once loaded, stays in the
// process; src/compile-cache.js fills the cache in a child process so that the server never loads it.
// Each case runs `node --import=<compile-cache.js> main.ts` on a copy of the module next to a few
// TypeScript sources, with a compile cache of its own, and reports which of Node's internal modules
// the process loaded.

const run = promisify(execFile);
const STRIPPER = 'NativeModule internal/deps/amaro/dist/index';
const CHILD_PROCESS = 'NativeModule child_process';

let dir: string;
let cache: string;

const SOURCES: Record<string, string> = {
  'package.json': '{ "type": "module" }',
  'greeting.ts': "export const greeting: string = 'hello';\n",
  'main.ts': `import { greeting } from './greeting.ts';
const loaded: string[] = process.moduleLoadList.filter((name) => name === '${STRIPPER}' || name === '${CHILD_PROCESS}');
console.log(JSON.stringify({ greeting, loaded }));
`,
};

async function start(preload: string, cacheDir = cache): Promise<{ greeting: string; loaded: string[] }> {
  const { stdout } = await run(process.execPath, ['--expose-gc', `--import=${preload}`, path.join(dir, 'main.ts')], {
    env: { ...process.env, NODE_COMPILE_CACHE: cacheDir },
  });
  return JSON.parse(stdout) as { greeting: string; loaded: string[] };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'compile-cache-'));
  cache = path.join(dir, '.cache');
  await mkdir(cache);
  for (const [name, text] of Object.entries(SOURCES)) await writeFile(path.join(dir, name), text);
  await copyFile(new URL('../src/compile-cache.js', import.meta.url), path.join(dir, 'compile-cache.js'));
  // What compile-cache.js replaces: enabling the cache alone.
  await writeFile(path.join(dir, 'enable-only.js'), "import module from 'node:module';\nmodule.enableCompileCache();\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compile cache', () => {
  it('loads the type stripper into a process that only enables a cold cache (what the cases below prevent)', async () => {
    const started = await start(path.join(dir, 'enable-only.js'), path.join(dir, '.cache-enabled-only'));
    expect(started).toEqual({ greeting: 'hello', loaded: [STRIPPER] });
  });

  it('never loads the type stripper on a cold cache: a child process filled it', async () => {
    const started = await start(path.join(dir, 'compile-cache.js'));
    expect(started).toEqual({ greeting: 'hello', loaded: [CHILD_PROCESS] });
    const [versioned = ''] = await readdir(cache);
    expect((await readdir(path.join(cache, versioned))).length).toBeGreaterThanOrEqual(3);
  });

  it('starts no child process once the cache holds the sources as they are', async () => {
    expect(await start(path.join(dir, 'compile-cache.js'))).toEqual({ greeting: 'hello', loaded: [] });
  });

  it('fills the cache again after a source changed, still without the stripper in the process', async () => {
    await writeFile(path.join(dir, 'greeting.ts'), "export const greeting: string = 'hello again';\n");
    expect(await start(path.join(dir, 'compile-cache.js'))).toEqual({ greeting: 'hello again', loaded: [CHILD_PROCESS] });
    expect(await start(path.join(dir, 'compile-cache.js'))).toEqual({ greeting: 'hello again', loaded: [] });
  });
});
