import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { restRoutes } from '../../src/rest/routes.ts';
import { restCase, runRestCase } from '../helpers/fuzz-requests.ts';
import { fuzzParameters, fuzzRuns } from '../helpers/fuzz-values.ts';
import { type FuzzWorld, startFuzzWorld } from '../helpers/fuzz-world.ts';

// Every write of the route table, so that a new route is fuzzed as soon as it is declared.
const writes = restRoutes.filter((route) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method));
const TIMEOUT = 30_000 + fuzzRuns * 1_000;

let world: FuzzWorld;

beforeAll(async () => {
  world = await startFuzzWorld();
});

afterAll(() => world.close());

describe.each(writes.map((route) => ({ route, name: `${route.method} ${route.path}` })))('$name', ({ route }) => {
  it(
    'never answers 5xx, answers its documented success or the SPEC §5 envelope, and changes nothing when it refuses a body shaped like its schema with hostile values',
    async () => {
      await fc.assert(
        fc.asyncProperty(restCase(route, 'shaped'), (generated) => runRestCase(world, route, generated)),
        fuzzParameters(),
      );
    },
    TIMEOUT,
  );

  it(
    'never answers 5xx, answers its documented success or the SPEC §5 envelope, and changes nothing when it refuses any JSON value or broken JSON as its body',
    async () => {
      await fc.assert(
        fc.asyncProperty(restCase(route, 'anything'), (generated) => runRestCase(world, route, generated)),
        fuzzParameters(),
      );
    },
    TIMEOUT,
  );
});
