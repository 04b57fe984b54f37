import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/rest/openapi.ts';
import { restRoutes } from '../../src/rest/routes.ts';

// The document GET /v3/rest/openapi.json serves passes two maintained OpenAPI linters with their
// recommended rules (configured in redocly.yaml and .spectral.yaml) without one problem.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** A deployment's PUBLIC_URL: the linters rightly flag a localhost server, which is only the development default. */
const DEPLOYED_URL = 'https://feedback.northwind.example';

let directory: string;

interface RedoclyReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; message: string }[];
}
interface SpectralProblem {
  code: string;
  message: string;
  path: string[];
  source: string;
}

/** Runs a linter's CLI with this Node; its exit code is part of the answer. */
async function lint(cli: string, args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(ROOT, 'node_modules/.bin', cli), ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '' };
  }
}

const redocly = (file: string) => lint('redocly', ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json']);

let served: { redocly: { code: number; report: RedoclyReport }; spectral: SpectralProblem[] };
let planted: { redocly: RedoclyReport; spectral: SpectralProblem[] };
let spectralCode: number;

/**
 * Lints the document as served, and a copy with problems planted in it, which proves the linters
 * and their configuration do report what they are meant to.
 */
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'openapi-lint-'));
  const servedFile = join(directory, 'openapi.json');
  await writeFile(servedFile, JSON.stringify(openApiDocument(restRoutes, DEPLOYED_URL), null, 2));
  const spoiled = openApiDocument(restRoutes, DEPLOYED_URL);
  const operation = spoiled.paths?.['/v3/rest/people']?.put;
  if (!operation) throw new Error('PUT /v3/rest/people is not documented');
  delete operation.description;
  operation.tags = ['Undeclared'];
  operation.responses = Object.fromEntries(Object.entries(operation.responses ?? {}).filter(([status]) => !status.startsWith('4')));
  const plantedFile = join(directory, 'planted.json');
  await writeFile(plantedFile, JSON.stringify(spoiled, null, 2));

  const [servedRedocly, plantedRedocly, spectral] = await Promise.all([
    redocly(servedFile),
    redocly(plantedFile),
    lint('spectral', ['lint', servedFile, plantedFile, '--ruleset', join(ROOT, '.spectral.yaml'), '--format', 'json', '--fail-severity', 'hint', '--quiet']),
  ]);
  const spectralProblems = JSON.parse(spectral.stdout || '[]') as SpectralProblem[];
  served = {
    redocly: { code: servedRedocly.code, report: JSON.parse(servedRedocly.stdout) as RedoclyReport },
    spectral: spectralProblems.filter((problem) => problem.source === servedFile),
  };
  planted = { redocly: JSON.parse(plantedRedocly.stdout) as RedoclyReport, spectral: spectralProblems.filter((problem) => problem.source === plantedFile) };
  spectralCode = spectral.code;
}, 60_000);

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('the OpenAPI document', () => {
  it('has no problem for Redocly CLI (recommended rules)', () => {
    expect(served.redocly.report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`)).toEqual([]);
    expect(served.redocly.report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(served.redocly.code).toBe(0);
  });

  it('has no problem for Spectral (spectral:oas)', () => {
    expect(served.spectral.map((problem) => `${problem.code}: ${problem.message} at ${problem.path.join('.')}`)).toEqual([]);
  });

  it('is linted for real: problems planted in a copy are reported by both linters', () => {
    expect(planted.redocly.problems.map((problem) => problem.ruleId)).toContain('operation-4xx-response');
    expect(planted.spectral.map((problem) => problem.code)).toEqual(expect.arrayContaining(['operation-description', 'operation-tag-defined']));
    // Spectral fails the run on any problem at all, and only the planted copy has any.
    expect(spectralCode).not.toBe(0);
  });
});
