import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Issue #10 item 8: the server gives back the memory of start-up and of a burst of load. V8 keeps
// the pages a collection freed; src/memory-reducer.ts asks for the collection that returns them. Each
// case runs in a process of its own, as the server does, with or without `--expose-gc`.

const run = promisify(execFile);
const REDUCER = new URL('../src/memory-reducer.ts', import.meta.url).href;
const MIB = 1024 * 1024;

/** A burst's garbage: about 200 MiB of small objects that all die, then V8's regular collection. */
const BURST = `
const rss = () => process.memoryUsage.rss();
let burst = Array.from({ length: 2_000_000 }, (_, i) => ({ i, text: 'item ' + i }));
burst = null;
`;

/** After a burst: V8's regular collection, then the lowest RSS (\`lowest\`) seen until it fell 100 MiB below \`collected\` or 10 s passed. */
const AWAIT_REDUCTION = `
globalThis.gc();
const collected = rss();
let lowest = collected;
const deadline = Date.now() + 10_000;
while (collected - lowest <= 100 * 1024 * 1024 && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  lowest = Math.min(lowest, rss());
}
`;

async function runScript(script: string, nodeOptions: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [...nodeOptions, '--input-type=module', '--eval', script], { env: { ...process.env, REDUCER } });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('memory reducer', () => {
  it('returns the pages a regular collection keeps after a burst', async () => {
    const result = await runScript(
      `const { reduceMemory } = await import(process.env.REDUCER);
      ${BURST}
      globalThis.gc();
      const collected = rss();
      const reduced = reduceMemory();
      console.log(JSON.stringify({ collected, reduced, after: rss() }));`,
      ['--expose-gc'],
    );
    expect(result.reduced).toBe(true);
    expect(Number(result.collected) - Number(result.after)).toBeGreaterThan(100 * MIB);
  });

  it('gives the memory back once the event loop goes idle after a burst', async () => {
    const result = await runScript(
      `const { startMemoryReducer } = await import(process.env.REDUCER);
      const reducer = startMemoryReducer({ checkEveryMs: 50, idleForMs: 300 });
      ${BURST}
      ${AWAIT_REDUCTION}
      reducer.stop();
      console.log(JSON.stringify({ collected, lowest }));`,
      ['--expose-gc'],
    );
    expect(Number(result.collected) - Number(result.lowest)).toBeGreaterThan(100 * MIB);
  });

  it('gives a burst back after a reduction that memory still held kept high, once that memory is freed', async () => {
    const result = await runScript(
      `const { startMemoryReducer } = await import(process.env.REDUCER);
      // Held through the reduction start-up makes, then freed without one: 300 MiB of resident buffer.
      let held = Buffer.alloc(300 * 1024 * 1024).fill(1);
      const reducer = startMemoryReducer({ checkEveryMs: 50, idleForMs: 300 });
      const afterStart = process.memoryUsage.rss();
      held = null;
      globalThis.gc();
      // V8 frees a collected buffer's memory on a thread of its own, moments later.
      const freeing = Date.now() + 2_000;
      while (afterStart - process.memoryUsage.rss() < 250 * 1024 * 1024 && Date.now() < freeing) await new Promise((resolve) => setTimeout(resolve, 20));
      const freed = process.memoryUsage.rss();
      // A few of the reducer's checks see the lower RSS before the burst comes.
      await new Promise((resolve) => setTimeout(resolve, 200));
      ${BURST}
      ${AWAIT_REDUCTION}
      reducer.stop();
      console.log(JSON.stringify({ afterStart, freed, collected, lowest }));`,
      ['--expose-gc'],
    );
    // The burst stays below the RSS of the start-up reduction, so only a baseline that followed RSS down sees it.
    expect(Number(result.afterStart) - Number(result.freed)).toBeGreaterThan(250 * MIB);
    expect(Number(result.collected)).toBeLessThan(Number(result.afterStart));
    expect(Number(result.collected) - Number(result.lowest)).toBeGreaterThan(100 * MIB);
  });

  it('keeps the memory while the event loop stays busy', async () => {
    const result = await runScript(
      `const { startMemoryReducer } = await import(process.env.REDUCER);
      const reducer = startMemoryReducer({ checkEveryMs: 50, idleForMs: 300 });
      ${BURST}
      globalThis.gc();
      const collected = rss();
      let lowest = collected;
      // Busy as under load: work in slices of 40 ms, the timers still running between them.
      const end = Date.now() + 1_500;
      while (Date.now() < end) {
        const slice = Date.now() + 40;
        while (Date.now() < slice);
        await new Promise((resolve) => setImmediate(resolve));
        lowest = Math.min(lowest, rss());
      }
      reducer.stop();
      console.log(JSON.stringify({ collected, lowest }));`,
      ['--expose-gc'],
    );
    expect(Number(result.collected) - Number(result.lowest)).toBeLessThan(32 * MIB);
  });

  it('does nothing in a process started without --expose-gc', async () => {
    const result = await runScript(
      `const { reduceMemory, startMemoryReducer } = await import(process.env.REDUCER);
      startMemoryReducer({ checkEveryMs: 50, idleForMs: 300 }).stop();
      console.log(JSON.stringify({ reduced: reduceMemory(), gc: typeof globalThis.gc }));`,
      [],
    );
    expect(result).toEqual({ reduced: false, gc: 'undefined' });
  });
});
