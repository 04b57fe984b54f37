import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { schema } from '../../src/graphql/schema.ts';
import { mutationsOf } from '../helpers/fuzz-graphql.ts';
import { graphqlCase, runGraphQLCase } from '../helpers/fuzz-requests.ts';
import { fuzzParameters, fuzzRuns } from '../helpers/fuzz-values.ts';
import { type FuzzWorld, startFuzzWorld } from '../helpers/fuzz-world.ts';

// Every field of the Mutation type, so that a new mutation is fuzzed as soon as it is in the schema.
const mutations = mutationsOf(schema);
const TIMEOUT = 30_000 + fuzzRuns * 1_000;

let world: FuzzWorld;

beforeAll(async () => {
  world = await startFuzzWorld();
});

afterAll(() => world.close());

describe.each(mutations)('$field', (mutation) => {
  it(
    'never answers 5xx, answers its payload union or typed GraphQL errors, and changes nothing when it refuses variables of the declared types with hostile values',
    async () => {
      await fc.assert(
        fc.asyncProperty(graphqlCase(mutation, 'typed'), (generated) => runGraphQLCase(world, mutation, generated)),
        fuzzParameters(),
      );
    },
    TIMEOUT,
  );

  it(
    'never answers 5xx, answers GraphQL errors carrying the SPEC §5 envelope, and changes nothing when its variables have wrong types, unknown or missing fields',
    async () => {
      await fc.assert(
        fc.asyncProperty(graphqlCase(mutation, 'anything'), (generated) => runGraphQLCase(world, mutation, generated)),
        fuzzParameters(),
      );
    },
    TIMEOUT,
  );
});
