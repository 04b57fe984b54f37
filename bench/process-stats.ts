import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time and memory of other processes, read from Linux's /proc: the gateway and the floor run as
 * processes of their own, and PostgreSQL as a postmaster with one child per connection.
 */

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  own: number;
  /** cutime + cstime: children that exited and were waited for (a backend whose connection closed). */
  children: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const at = (field: number) => Number(fields[field - 3]);
  return { ppid: at(4), own: at(14) + at(15), children: at(16) + at(17) };
}

/** CPU time of one process (all its threads) since it started, in ms. */
export function processCpuMs(pid: number): number {
  const stat = readStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  return (stat.own * 1000) / ticksPerSecond;
}

/**
 * CPU time of a PostgreSQL cluster in ms: the postmaster, every live child (backends, background
 * workers) and, through the postmaster's cutime, every child that already exited. The difference of
 * two readings is the cluster's CPU between them, whatever connections came and went.
 */
export function clusterCpuMs(postmasterPid: number): number {
  const postmaster = readStat(postmasterPid);
  if (!postmaster) throw new Error(`PostgreSQL (pid ${postmasterPid}) is gone`);
  let ticks = postmaster.own + postmaster.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.ppid === postmasterPid) ticks += stat.own + stat.children;
  }
  return (ticks * 1000) / ticksPerSecond;
}

/** Resident set size of a process, in MiB (VmRSS). */
export function rssMib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) / 1024;
}

/**
 * Resident memory of a process by kind of mapping, in MiB, from /proc/<pid>/smaps. The kinds are
 * read from the mappings' shapes, which is how glibc and V8 lay them out on Linux x64:
 * - v8Pages: anonymous read-write mappings of exactly 256 KiB, V8's heap pages (young and old
 *   generation, also those V8 freed but keeps pooled for reuse);
 * - malloc: glibc's main arena ([heap]) and its thread arenas (anonymous mappings starting on a
 *   64 MiB boundary);
 * - executable: anonymous executable mappings (code V8 compiled: JavaScript and WebAssembly);
 * - binary: the node executable's pages (shared with every other process running it);
 * - other: everything else (large objects, big malloc blocks mapped on their own, thread stacks,
 *   shared libraries).
 */
export interface MemoryMap {
  rss: number;
  v8Pages: number;
  malloc: number;
  executable: number;
  binary: number;
  other: number;
}

export function memoryMap(pid: number): MemoryMap {
  const map: MemoryMap = { rss: 0, v8Pages: 0, malloc: 0, executable: 0, binary: 0, other: 0 };
  let kind: keyof MemoryMap = 'other';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const [, from = '0', to = '0', permissions = '', name = ''] = mapping;
      const start = BigInt(`0x${from}`);
      const size = BigInt(`0x${to}`) - start;
      if (name === '') {
        if (permissions.includes('x')) kind = 'executable';
        else if (size === 256n * 1024n) kind = 'v8Pages';
        else if (start % (64n * 1024n * 1024n) === 0n && start > 0x7e0000000000n) kind = 'malloc';
        else kind = 'other';
      } else if (name === '[heap]') kind = 'malloc';
      else if (name === process.execPath || name.endsWith('/bin/node')) kind = 'binary';
      else kind = 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)?.[1];
    if (rss !== undefined) {
      map[kind] += Number(rss) / 1024;
      map.rss += Number(rss) / 1024;
    }
  }
  return map;
}
