import { performance } from 'node:perf_hooks';

/**
 * Gives memory back once start-up is done and whenever the server goes idle after load.
 *
 * V8 keeps the pages of its largest heap: what a collection frees stays with the process for reuse,
 * and only a memory-reducing collection returns it. V8 schedules one itself when allocation slows
 * down, but in this server that never happens: its estimate of the allocation rate is only updated by
 * collections, so it stays where the last burst left it. Measured (bench/memory.ts, bench/RESULTS.md):
 * RSS about 200 MiB after start and 550 MiB after load, of which these collections return about 55
 * and 350 MiB.
 *
 * It needs `gc`, which `--expose-gc` provides (package.json's start script passes it, and cluster
 * workers inherit it); without it this does nothing.
 */
export interface MemoryReducer {
  stop(): void;
}

/** The event loop counts as idle while it is busy less than this share of the time. */
const IDLE_UTILIZATION = 0.02;
/** A reduction is worth its pause once RSS grew this much since the last one. */
const GROWTH_BYTES = 32 * 1024 * 1024;

/** A full collection that compacts the heap and returns every free page to the system; it takes 50–150 ms. */
export function reduceMemory(): boolean {
  if (typeof globalThis.gc !== 'function') return false;
  globalThis.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return true;
}

/**
 * Reduces now (start-up's garbage), then whenever the event loop has been idle for `idleForMs` after
 * RSS grew. Only a lull counts: a reduction also shrinks the young generation and drops compiled code,
 * which the next burst pays for, so a pause of a second or two between bursts must not trigger it.
 * Five seconds: after heavy load the last requests can take seconds to drain (bench/memory.ts saw a
 * reduction miss the 15 s the benchmark waits with ten), and a reduction costs 50–150 ms.
 */
export function startMemoryReducer(options: { checkEveryMs?: number; idleForMs?: number } = {}): MemoryReducer {
  const { checkEveryMs = 1000, idleForMs = 5_000 } = options;
  if (!reduceMemory()) return { stop: () => {} };
  // The lowest RSS since the last reduction, not the RSS right after it: what a reduction could not
  // give back (malloc's free memory, buffers still held) and was later freed otherwise must not
  // raise the bar for the next one, or a process that once peaked stays unreduced until it passes that peak.
  let baseline = process.memoryUsage.rss();
  let previous = performance.eventLoopUtilization();
  let idleSince: number | null = null;
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    baseline = Math.min(baseline, rss);
    const now = performance.eventLoopUtilization();
    const idle = performance.eventLoopUtilization(now, previous).utilization < IDLE_UTILIZATION;
    previous = now;
    if (!idle) {
      idleSince = null;
      return;
    }
    idleSince ??= Date.now() - checkEveryMs;
    if (Date.now() - idleSince >= idleForMs && rss - baseline > GROWTH_BYTES) {
      reduceMemory();
      baseline = process.memoryUsage.rss();
      previous = performance.eventLoopUtilization();
      idleSince = null;
    }
  }, checkEveryMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
