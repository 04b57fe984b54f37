// Plain JavaScript on purpose, loaded with `--import` before the TypeScript sources: a module found in
// Node's compile cache skips type stripping, so a warm cache never loads the stripper (about 30 MiB
// less in each process, and a faster start). The cache lives in NODE_COMPILE_CACHE, else in the
// system's temporary directory; it is keyed by file contents and Node version, and without a writable
// directory the process simply starts without it.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

module.enableCompileCache();

// On a cold cache (the first start after installing or changing the sources) the stripper would load
// into this process and stay: its WebAssembly memory and code, and the pages of the node binary that
// hold it, about 13 MiB after start. A child process fills the cache first, and exits with them.
try {
  warmCache();
} catch {
  // Then this process strips what the cache lacks itself.
}

// Node holds every entry it read or made in memory until it flushes them, at exit (about 10 MiB of
// malloc'd memory for the gateway's modules), though V8 needs an entry only while its module
// compiles. Flushing as each module loads frees the entries of the modules before it (writing new
// ones to disk), so the next entry reuses their memory instead of adding to it.
module.registerHooks({
  load(url, context, nextLoad) {
    module.flushCompileCache();
    return nextLoad(url, context);
  },
});

/**
 * Unless the stamp in the cache says no source changed since the last time, fills the cache with
 * every TypeScript source in this directory and below, in a child process that compiles them without
 * running any: it imports them all along with an export no module has, so linking fails once every
 * module of the graph is compiled. The child has this process's V8 flags, which key the cache too.
 */
function warmCache() {
  const cacheDir = module.getCompileCacheDir();
  if (!cacheDir) return;
  const sourceDir = fileURLToPath(new URL('.', import.meta.url));
  const sources = readdirSync(sourceDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(sourceDir, file))
    .sort();
  // The listing itself rather than a hash of it: node:crypto would load before the server needs it.
  const stamp = sources
    .map((file) => {
      const { size, mtimeMs } = statSync(file);
      return `${file} ${size} ${mtimeMs}\n`;
    })
    .join('');
  const stampFile = path.join(cacheDir, 'sources.stamp');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  const imports = sources.map((file) => `import ${JSON.stringify(pathToFileURL(file).href)};`);
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const child = spawnSync(process.execPath, [...withoutPreloads(process.execArgv), '--input-type=module', '--eval', `${imports.join('\n')}\nimport { never } from 'node:module';`], {
    env: { ...process.env, NODE_COMPILE_CACHE: path.dirname(cacheDir) },
    stdio: 'ignore',
    timeout: 120_000,
  });
  if (child.error === undefined) writeFileSync(stampFile, stamp);
}

/** Node's options without what must not run in the child: preloaded modules (this one, a probe) and profilers. */
function withoutPreloads(args) {
  const kept = [];
  for (let at = 0; at < args.length; at++) {
    const arg = args[at];
    if (/^(--import|--require|-r|--loader|--experimental-loader|--diagnostic-dir|--cpu-prof-dir|--heap-prof-dir)$/.test(arg)) at++;
    else if (!/^--(import|require|loader|experimental-loader|cpu-prof|heap-prof|heapsnapshot|diagnostic-dir|inspect)/.test(arg)) kept.push(arg);
  }
  return kept;
}
