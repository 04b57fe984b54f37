/**
 * Loaded into a measured gateway with `--import` (bench/memory.ts does): every MEMORY_PROBE_MS (default
 * 1000) ms it appends one JSON line to MEMORY_PROBE_FILE with what only the process itself can see:
 * V8's heap (used, committed, resident; young and old generation apart), external and array-buffer
 * memory, its RSS split into anonymous and file-backed pages, and the time its main thread spent in
 * garbage collection (memory.ts `MemorySample`). Cluster workers inherit `--import`, so each process
 * writes its own lines (`pid`).
 *
 * Plain JavaScript on purpose: a TypeScript probe would load Node's type stripper into a process whose
 * sources come from the compile cache (src/compile-cache.js), and so change what it measures.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { constants, PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';

const gcTime = { young: 0, old: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gcTime.young += entry.duration;
    else gcTime.old += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

const mib = (bytes) => Math.round((bytes / (1024 * 1024)) * 10) / 10;
const statusKib = (status, field) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? 0);

let loop = performance.eventLoopUtilization();

function sample() {
  const now = performance.eventLoopUtilization();
  const busy = performance.eventLoopUtilization(now, loop).utilization;
  loop = now;
  const usage = process.memoryUsage();
  const heap = v8.getHeapStatistics();
  const spaces = v8.getHeapSpaceStatistics();
  const young = (space) => space.space_name === 'new_space' || space.space_name === 'new_large_object_space';
  const resident = (which) => spaces.filter(which).reduce((sum, space) => sum + space.physical_space_size, 0);
  const status = readFileSync('/proc/self/status', 'utf8');
  return {
    pid: process.pid,
    at: Date.now(),
    uptimeMs: Math.round(process.uptime() * 1000),
    rss: mib(usage.rss),
    rssAnon: mib(statusKib(status, 'RssAnon') * 1024),
    rssFile: mib(statusKib(status, 'RssFile') * 1024),
    heapUsed: mib(usage.heapUsed),
    heapCommitted: mib(heap.total_heap_size),
    heapResident: mib(heap.total_physical_size),
    newSpace: mib(resident(young)),
    oldSpaces: mib(resident((space) => !young(space))),
    external: mib(usage.external),
    arrayBuffers: mib(usage.arrayBuffers),
    gcYoungMs: Math.round(gcTime.young),
    gcOldMs: Math.round(gcTime.old),
    // The share of the time since the previous sample the event loop was busy (src/memory-reducer.ts counts below 2% as idle).
    loopBusy: Math.round(busy * 1000) / 1000,
  };
}

const file = process.env.MEMORY_PROBE_FILE;
if (file) {
  setInterval(() => appendFileSync(file, `${JSON.stringify(sample())}\n`), Number(process.env.MEMORY_PROBE_MS ?? 1000)).unref();
}
