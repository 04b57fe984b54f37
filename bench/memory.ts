/**
 * `npx node bench/memory.ts`: where the gateway's memory goes, at start and under load, with the
 * settings `npm start` uses and with others to compare. Not a test: it prints figures.
 *
 * A fresh embedded PostgreSQL is seeded as bench/run.ts seeds it (BENCH_RECORDS records, default
 * 20,000). Then, per variant, the gateway starts as its own process (bench/servers.ts) with
 * bench/memory-probe.js loaded, which writes V8's heap figures from inside the process every second,
 * and goes through these phases, autocannon running in a child process as in run.ts:
 *
 *   start     once /readyz answers (and the probe's first sample is in)
 *   read      GraphQL read of 100 records with source, person and company, MEMORY_CONNECTIONS (32)
 *   ingest    REST ingest of 1 record without a key, MEMORY_CONNECTIONS
 *   batch     GraphQL ingestRecords ×100, MEMORY_CONNECTIONS
 *   overload  REST list, get and ingest at BENCH_OVERLOAD_CONNECTIONS (200)
 *   idle      MEMORY_IDLE seconds (15) without requests: does it come back down?
 *
 * Each load phase lasts MEMORY_DURATION seconds (10). Per phase: requests/s, p99, the gateway's CPU
 * time per request (steadier than requests/s on a shared machine) and of it the main thread's time in
 * garbage collection (young generation + the rest); at its end V8's heap (used; resident
 * young and old generation) and the RSS by kind of mapping (V8's pages, malloc, compiled code, the node
 * binary); and the peak RSS.
 *
 * Variants (MEMORY_VARIANTS, `;`-separated `label|settings`, settings being `VAR=value` and node
 * options): by default `npm start` (package.json's start script) and `none` (plain `node src/main.ts`).
 * For example:
 *
 *   MEMORY_VARIANTS='none|;semi 8|--max-semi-space-size=8;arenas 2|MALLOC_ARENA_MAX=2' npx node bench/memory.ts
 *
 * MEMORY_CACHE sets the state of Node's compile cache (src/compile-cache.js) each gateway starts with:
 * `cold` (an empty cache, as on the first start after installing or changing the sources), `warm`
 * (a cache one start of the same variant filled) or `both` (cold, then warm, each variant in a cache
 * directory of its own: the gateway's TMPDIR, where the cache is when NODE_COMPILE_CACHE is unset).
 * Unset, the gateway uses the cache of the environment, whatever state it is in. MEMORY_REPEAT=n
 * measures each variant n times (start-up figures vary by a few MiB between starts).
 *
 * MEMORY_ONLY (comma-separated parts of phase names, e.g. "read,ingest") runs only those phases;
 * MEMORY_TIMELINE=1 prints every sample; MEMORY_SNAPSHOTS=<dir> writes a V8 heap snapshot of the
 * gateway at start and after the idle phase (open them in Chrome DevTools' Memory tab). Writing a
 * snapshot leaves about 100 MiB of malloc'd memory in the process and slows it down afterwards: the
 * figures of such a run describe the snapshots, not the gateway.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedDatabase } from '../src/database/embedded.ts';
import { connectOrm, migrate } from '../src/database/orm.ts';
import { scopes } from '../src/organizations/scopes.ts';
import { createApiKey } from '../src/organizations/tokens.ts';
import { type MemoryMap, memoryMap, processCpuMs } from './process-stats.ts';
import { BATCH_SIZE, buildScenarios, READ_PAGE, runLoad, type Scenario, smokeTest } from './scenarios.ts';
import { seed } from './seed.ts';
import { type Launch, startGateway, startLaunch } from './servers.ts';

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

const records = Math.round(envNumber('BENCH_RECORDS', 20_000));
const duration = envNumber('MEMORY_DURATION', 10);
const idle = envNumber('MEMORY_IDLE', 15);
const connections = envNumber('MEMORY_CONNECTIONS', 32);
const overloadConnections = envNumber('BENCH_OVERLOAD_CONNECTIONS', 200);
const timeline = process.env.MEMORY_TIMELINE === '1';
const repeat = Math.round(envNumber('MEMORY_REPEAT', 1));
const cacheStates: readonly ('cold' | 'warm' | null)[] | undefined = ({ cold: ['cold'], warm: ['warm'], both: ['cold', 'warm'], '': [null] } as const)[process.env.MEMORY_CACHE ?? ''];
if (!cacheStates) throw new Error('MEMORY_CACHE must be cold, warm or both');
const only = (process.env.MEMORY_ONLY ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean);
const snapshotDir = process.env.MEMORY_SNAPSHOTS ? path.resolve(process.env.MEMORY_SNAPSHOTS) : null;
const probe = fileURLToPath(new URL('./memory-probe.js', import.meta.url));
const progress = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fixed = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** One line of memory-probe.js, sizes in MiB. */
interface MemorySample {
  pid: number;
  /** Date.now() of the sample. */
  at: number;
  /** ms since the process started. */
  uptimeMs: number;
  rss: number;
  rssAnon: number;
  rssFile: number;
  heapUsed: number;
  /** V8's heap pages: committed, and of those resident. */
  heapCommitted: number;
  heapResident: number;
  /** Resident pages of the young generation (both semi-spaces), and of every other space (old, code, large objects …). */
  newSpace: number;
  oldSpaces: number;
  external: number;
  arrayBuffers: number;
  /** Main-thread garbage collection since start, ms: young generation (scavenges), and the rest (mark-compact, incremental marking steps, weak callbacks). */
  gcYoungMs: number;
  gcOldMs: number;
  /** The share of the time since the previous sample the event loop was busy. */
  loopBusy: number;
}

interface Variant {
  label: string;
  launch: Launch;
}

/** `label|VAR=value --option …`: the start script's script, with these settings instead of its own. */
function parseVariants(text: string | undefined): Variant[] {
  const start = startLaunch();
  if (!text) return [{ label: 'npm start', launch: start }, { label: 'none', launch: { env: {}, nodeArgs: [], script: start.script } }];
  return text.split(';').map((part) => {
    const [label = '', settings = ''] = part.split('|');
    const env: Record<string, string> = {};
    const nodeArgs: string[] = [];
    for (const word of settings.trim().split(/\s+/).filter(Boolean)) {
      const variable = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word);
      if (variable) env[variable[1] as string] = variable[2] as string;
      else if (word.startsWith('-')) nodeArgs.push(word);
      else throw new Error(`MEMORY_VARIANTS: "${word}" is neither VAR=value nor a node option`);
    }
    return { label: label.trim() || settings.trim(), launch: { env, nodeArgs, script: start.script } };
  });
}

interface Phase {
  name: string;
  scenario: Scenario | null;
  connections: number;
  seconds: number;
}

interface PhaseResult {
  phase: Phase;
  requestsPerSecond: number | null;
  p99: number | null;
  cpuPerRequest: number | null;
  /** Main-thread garbage collection during the phase per request, ms: young generation, and the rest. */
  gcYoungPerRequest: number | null;
  gcOldPerRequest: number | null;
  failed: number;
  /** The last probe sample of the phase, the mappings at its end, and the highest RSS seen during it. */
  last: MemorySample;
  map: MemoryMap;
  peakRss: number;
}

function readSamples(file: string): MemorySample[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as MemorySample);
}

async function nextSample(file: string, after: number): Promise<MemorySample> {
  for (;;) {
    const sample = readSamples(file).find((candidate) => candidate.at > after);
    if (sample) return sample;
    await sleep(100);
  }
}

/** Asks V8 for a heap snapshot (SIGUSR2, see --heapsnapshot-signal) and waits until the file is complete. */
async function writeSnapshot(pid: number, dir: string, name: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await sleep(500);
    const file = readdirSync(dir).find((entry) => !before.has(entry) && entry.endsWith('.heapsnapshot'));
    if (!file) continue;
    const size = statSync(path.join(dir, file)).size;
    await sleep(1000);
    if (statSync(path.join(dir, file)).size === size && size > 0) {
      renameSync(path.join(dir, file), path.join(dir, `${name}.heapsnapshot`));
      progress(`  heap snapshot: ${path.join(dir, `${name}.heapsnapshot`)}`);
      return;
    }
  }
}

interface Measured {
  start: MemorySample;
  startMap: MemoryMap;
  results: PhaseResult[];
}

async function measure(variant: Variant, databaseUrl: string, dataDir: string, phases: Phase[], tmpDir: string | null): Promise<Measured> {
  const probeFile = path.join(dataDir, `probe-${Date.now()}.jsonl`);
  const snapshotArgs = snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : [];
  const launchedAt = Date.now();
  const gateway = await startGateway(databaseUrl, dataDir, null, {
    launch: variant.launch,
    extraNodeArgs: [`--import=${probe}`, ...snapshotArgs],
    extraEnv: { MEMORY_PROBE_FILE: probeFile, ...(tmpDir ? { TMPDIR: tmpDir } : {}) },
  });
  const readyAt = Date.now();
  try {
    const start = await nextSample(probeFile, 0);
    const startMap = memoryMap(gateway.pid);
    progress(`bench: ${variant.label}: ready in ${fixed((readyAt - launchedAt) / 1000, 1)} s, RSS ${fixed(startMap.rss)} MiB after start`);
    if (snapshotDir) await writeSnapshot(gateway.pid, snapshotDir, `${variant.label.replace(/\W+/g, '-')}-start`);
    const results: PhaseResult[] = [];
    for (const phase of phases) {
      const from = Date.now();
      let requestsPerSecond: number | null = null;
      let p99: number | null = null;
      let cpuPerRequest: number | null = null;
      let gcYoungPerRequest: number | null = null;
      let gcOldPerRequest: number | null = null;
      let failed = 0;
      if (phase.scenario) {
        const gcBefore = await nextSample(probeFile, Date.now());
        await smokeTest(phase.scenario, gateway.url);
        let cpuBefore = 0;
        const { result, outcomes } = await runLoad(phase.scenario, gateway.url, { connections: phase.connections, duration: phase.seconds }, () => {
          cpuBefore = processCpuMs(gateway.pid);
        });
        requestsPerSecond = result.requests.total / result.duration;
        p99 = result.latency.p99;
        cpuPerRequest = (processCpuMs(gateway.pid) - cpuBefore) / Math.max(result.requests.sent, 1);
        const gcAfter = await nextSample(probeFile, Date.now());
        gcYoungPerRequest = (gcAfter.gcYoungMs - gcBefore.gcYoungMs) / Math.max(result.requests.sent, 1);
        gcOldPerRequest = (gcAfter.gcOldMs - gcBefore.gcOldMs) / Math.max(result.requests.sent, 1);
        failed = Object.entries(outcomes).reduce((sum, [outcome, count]) => (outcome === '2xx' ? sum : sum + count), 0) + result.errors;
      } else {
        await sleep(phase.seconds * 1000);
      }
      const map = memoryMap(gateway.pid);
      const last = await nextSample(probeFile, Date.now());
      const during = readSamples(probeFile).filter((sample) => sample.at >= from);
      const peakRss = Math.max(map.rss, ...during.map((sample) => sample.rss));
      results.push({ phase, requestsPerSecond, p99, cpuPerRequest, gcYoungPerRequest, gcOldPerRequest, failed, last, map, peakRss });
      progress(`  ${phase.name}: ${requestsPerSecond === null ? '' : `${fixed(requestsPerSecond)} req/s, ${fixed(cpuPerRequest ?? 0, 2)} ms CPU/req (GC ${fixed(gcYoungPerRequest ?? 0, 2)} young, ${fixed(gcOldPerRequest ?? 0, 2)} old), `}RSS ${fixed(last.rss)} MiB (peak ${fixed(peakRss)}), heap used ${fixed(last.heapUsed)} MiB`);
    }
    if (snapshotDir) await writeSnapshot(gateway.pid, snapshotDir, `${variant.label.replace(/\W+/g, '-')}-end`);
    if (timeline) printTimeline(variant, readSamples(probeFile));
    return { start, startMap, results };
  } finally {
    await gateway.stop();
    rmSync(probeFile, { force: true });
  }
}

const sampleColumns: [string, (sample: MemorySample) => number][] = [
  ['RSS', (sample) => sample.rss],
  ['anon', (sample) => sample.rssAnon],
  ['file', (sample) => sample.rssFile],
  ['heap used', (sample) => sample.heapUsed],
  ['young', (sample) => sample.newSpace],
  ['old', (sample) => sample.oldSpaces],
  ['native', (sample) => sample.rssAnon - sample.heapResident],
  ['external', (sample) => sample.external],
  ['loop busy %', (sample) => sample.loopBusy * 100],
];

function printTimeline(variant: Variant, samples: MemorySample[]): void {
  process.stdout.write(`\n${variant.label}: every sample (MiB)\n\n| s | ${sampleColumns.map(([title]) => title).join(' | ')} |\n|${'---:|'.repeat(sampleColumns.length + 1)}\n`);
  for (const sample of samples) {
    process.stdout.write(`| ${fixed(sample.uptimeMs / 1000, 1)} | ${sampleColumns.map(([, cell]) => fixed(cell(sample))).join(' | ')} |\n`);
  }
}

const phaseColumns: [string, (sample: MemorySample, map: MemoryMap) => number][] = [
  ['RSS', (_, map) => map.rss],
  ['heap used', (sample) => sample.heapUsed],
  ['young', (sample) => sample.newSpace],
  ['old', (sample) => sample.oldSpaces],
  ['V8 pages', (_, map) => map.v8Pages],
  ['malloc', (_, map) => map.malloc],
  ['code', (_, map) => map.executable],
  ['binary', (_, map) => map.binary],
  ['other', (_, map) => map.other],
  ['external', (sample) => sample.external],
];

function renderVariant(variant: Variant, measured: Measured): string {
  const settings = [...Object.entries(variant.launch.env).map(([name, value]) => `${name}=${value}`), 'node', ...variant.launch.nodeArgs, variant.launch.script].join(' ');
  const header = `| phase | req/s | p99 ms | CPU ms/req | GC ms/req | failed | ${phaseColumns.map(([title]) => title).join(' | ')} | peak RSS |`;
  const rule = `|:--|--:|--:|--:|--:|--:|${'--:|'.repeat(phaseColumns.length)}--:|`;
  const cells = (sample: MemorySample, map: MemoryMap) => phaseColumns.map(([, cell]) => fixed(cell(sample, map))).join(' | ');
  const lines = [
    `| start |  |  |  |  |  | ${cells(measured.start, measured.startMap)} | ${fixed(measured.startMap.rss)} |`,
    ...measured.results.map((result) => {
      const { phase } = result;
      const name = phase.scenario === null ? `${phase.name} (${phase.seconds} s)` : `${phase.name} (${phase.connections} conns, ${phase.seconds} s)`;
      const gc = `${fixed(result.gcYoungPerRequest ?? 0, 2)} + ${fixed(result.gcOldPerRequest ?? 0, 2)}`;
      const load = result.requestsPerSecond === null ? ' |  |  |  |  ' : ` ${fixed(result.requestsPerSecond)} | ${fixed(result.p99 ?? 0)} | ${fixed(result.cpuPerRequest ?? 0, 2)} | ${gc} | ${fixed(result.failed)}`;
      return `| ${name} |${load} | ${cells(result.last, result.map)} | ${fixed(result.peakRss)} |`;
    }),
  ];
  return `\n### ${variant.label}: \`${settings}\`\n\n${header}\n${rule}\n${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- the run
const variants = parseVariants(process.env.MEMORY_VARIANTS);
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-memory-'));
progress(`bench: embedded PostgreSQL in ${dataDir}`);
const database = await startEmbeddedDatabase(dataDir);
try {
  const orm = await connectOrm(database.url);
  await migrate(orm);
  const { token, organization } = await createApiKey(orm.em.fork(), 'bench', scopes, null);
  await orm.close();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  progress(`bench: seeding ${records} records`);
  const seeded = await seed(client, organization.id, records);
  await client.end();

  const scenarios = buildScenarios({ token, grownBy: 0, ...seeded });
  const scenario = (name: string) => {
    const found = scenarios.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no scenario named ${name}`);
    return found;
  };
  const phases: Phase[] = [
    { name: `GraphQL read ${READ_PAGE}`, scenario: scenario(`GraphQL read ${READ_PAGE} (source, person, company)`), connections, seconds: duration },
    { name: 'REST ingest', scenario: scenario('REST ingest 1 record, no key'), connections, seconds: duration },
    { name: `GraphQL ingestRecords ×${BATCH_SIZE}`, scenario: scenario(`GraphQL ingestRecords x${BATCH_SIZE}`), connections, seconds: duration },
    { name: 'overload', scenario: scenario('overload: REST list, get, ingest'), connections: overloadConnections, seconds: duration },
    { name: 'idle', scenario: null, connections: 0, seconds: idle },
  ].filter((phase) => only.length === 0 || only.some((part) => phase.name.toLowerCase().includes(part)));

  const load = os.loadavg()[0] ?? 0;
  const sections: string[] = [];
  for (const variant of variants) {
    for (let run = 1; run <= repeat; run++) {
      for (const state of cacheStates) {
        const label = [variant.label, state, repeat > 1 ? `run ${run}` : null].filter(Boolean).join(', ');
        let tmpDir: string | null = null;
        if (state) {
          tmpDir = path.join(dataDir, `tmp-${variant.label.replace(/\W+/g, '-')}-${run}`);
          if (state === 'cold') rmSync(tmpDir, { recursive: true, force: true });
          mkdirSync(tmpDir, { recursive: true });
          // Warm without a cold run before it: one start and stop fills the cache.
          if (state === 'warm' && !cacheStates.includes('cold')) await (await startGateway(database.url, dataDir, null, { launch: variant.launch, extraEnv: { TMPDIR: tmpDir } })).stop();
        }
        const labelled = { ...variant, label };
        sections.push(renderVariant(labelled, await measure(labelled, database.url, dataDir, phases, tmpDir)));
      }
    }
  }
  const cpus = os.cpus();
  process.stdout.write(
    `\n${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${fixed(os.totalmem() / 2 ** 30, 1)} GiB RAM; Node ${process.version}; ${fixed(records)} records seeded; ` +
      `1-minute load average ${fixed(load, 2)} before, ${fixed(os.loadavg()[0] ?? 0, 2)} after. Figures in MiB at the end of each phase. ` +
      'From inside the process (memory-probe.js): heap used (live objects and garbage not yet collected), young and old (V8\'s own count of the resident pages of its young generation and of its other spaces; after a memory-reducing collection it still counts pages the system took back), external (memory held for JavaScript objects: buffers, external strings). ' +
      'From /proc/<pid>/smaps (process-stats.ts memoryMap): RSS, and its parts: V8 pages (256 KiB heap pages, including freed ones V8 keeps for reuse), malloc (glibc arenas), code (compiled JavaScript and WebAssembly), binary (the node executable, shared between processes), other.\n' +
      sections.join(''),
  );
} finally {
  await database.stop();
  await rm(dataDir, { recursive: true, force: true });
}
