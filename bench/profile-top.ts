/**
 * Summarises a V8 .cpuprofile: where the main thread's time went.
 *
 *   BENCH_ONLY="REST ingest" BENCH_PROFILE=/tmp/prof npm run bench     # the gateway process, start-up to stop
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof src/main.ts                 # or any process of your own
 *   node bench/profile-top.ts /tmp/prof/<file>.cpuprofile [--top 25] [--under "find @mikro-orm/core/EntityManager.js"]
 *
 * Views:
 * - self time by function, and by file or package;
 * - by project caller: each sample goes to the innermost frame of the project (src/ or bench/) on its
 *   stack, with the function it was calling there; a sample with no project frame is code resumed from
 *   the microtask queue after an `await` (V8 keeps no async caller), shown as "(async) <resumed function>";
 * - with --under: what the calls under one function (name and file, a prefix) spent their time on.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
const file = args.find((arg, i) => !arg.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!file) {
  process.stderr.write('usage: node bench/profile-top.ts <file.cpuprofile> [--top N] [--under "function file"]\n');
  process.exit(2);
}
const top = Number(option('top') ?? 25);
const under = option('under');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const projectDirs = [`${root}/src/`, `${root}/bench/`];

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, ProfileNode>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);

const local = (url: string) => url.replace(/^file:\/\//, '');
const shortUrl = (url: string) => {
  const modules = local(url).lastIndexOf('/node_modules/');
  if (modules >= 0) return local(url).slice(modules + '/node_modules/'.length);
  return local(url).startsWith(`${root}/`) ? local(url).slice(root.length + 1) : local(url);
};
const packageOf = (node: ProfileNode) => {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : `(${functionName || 'native'})`;
  if (!url.includes('/node_modules/')) return shortUrl(url);
  const parts = shortUrl(url).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
};
const nameOf = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : `(${functionName || 'native'})`;
  return `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
};
const isProject = (node: ProfileNode) => projectDirs.some((dir) => local(node.callFrame.url).startsWith(dir));

// Each sample lasted until the next one (V8 records the gap before each sample).
const durations = profile.samples.map((_, i) => (profile.timeDeltas[i + 1] ?? 0) / 1000);
const total = durations.reduce((sum, ms) => sum + ms, 0);
const self = new Map<string, number>();
const selfByPackage = new Map<string, number>();
const byCaller = new Map<string, number>();
const underCallee = new Map<string, number>();
const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);

profile.samples.forEach((id, i) => {
  const ms = durations[i] ?? 0;
  const leaf = byId.get(id);
  if (!leaf) return;
  const stack: ProfileNode[] = []; // leaf first
  for (let node: ProfileNode | undefined = leaf; node; node = parentOf.get(node.id)) stack.push(node);
  add(self, nameOf(leaf), ms);
  add(selfByPackage, packageOf(leaf), ms);

  const project = stack.findIndex(isProject);
  if (project >= 0) {
    const callee = stack[project - 1];
    add(byCaller, `${nameOf(stack[project] as ProfileNode)}  →  ${callee ? nameOf(callee) : '(itself)'}`, ms);
  } else {
    const microtasks = stack.findIndex((node) => node.callFrame.functionName === 'runMicrotasks');
    const resumed = microtasks > 0 ? stack[microtasks - 1] : undefined;
    add(byCaller, resumed ? `(async) ${nameOf(resumed)}` : nameOf(stack.at(-2) ?? leaf), ms);
  }

  if (under) {
    const outermost = stack.findLastIndex((node) => nameOf(node).startsWith(under));
    if (outermost >= 0) add(underCallee, outermost > 0 ? nameOf(stack[outermost - 1] as ProfileNode) : '(itself)', ms);
  }
});

const print = (title: string, map: Map<string, number>) => {
  const lines = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write(`\n${title}\n${lines.map(([key, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${key}`).join('\n')}\n`);
};
process.stdout.write(`${file}: ${total.toFixed(0)} ms sampled\n`);
print('self time by function', self);
print('self time by file / package', selfByPackage);
print('by project caller (innermost src/ or bench/ frame → what it called), or (async) resumed function', byCaller);
if (under) {
  const sum = [...underCallee.values()].reduce((a, b) => a + b, 0);
  print(`under "${under}" (${sum.toFixed(0)} ms, ${((sum / total) * 100).toFixed(1)}%), by the function it called`, underCallee);
}
