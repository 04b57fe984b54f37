/** `npm run schema:print`: rewrites schema.graphql and introspection.ts from the code. */
import { writeFile } from 'node:fs/promises';
import { introspectionFromSchema, lexicographicSortSchema } from 'graphql';
import { printSchemaText, schema } from './schema.ts';

/**
 * introspection.ts: the schema as a constant whose type the REST routes' typed documents read
 * (typed-document.ts). One type a line, so a change to the schema shows as a change to its types.
 */
export function printIntrospectionText(): string {
  const { __schema } = introspectionFromSchema(lexicographicSortSchema(schema), { descriptions: false });
  const { types, ...rest } = __schema;
  const head = JSON.stringify(rest).slice(0, -1);
  return (
    '// Printed from the code by npm run schema:print; a test fails when it is stale.\n' +
    `export const introspection = {"__schema":${head},"types":[\n${types.map((type) => JSON.stringify(type)).join(',\n')}\n]}} as const;\n`
  );
}

if (import.meta.main) {
  await writeFile(new URL('../../schema.graphql', import.meta.url), printSchemaText());
  await writeFile(new URL('./introspection.ts', import.meta.url), printIntrospectionText());
  console.log('Wrote schema.graphql and src/graphql/introspection.ts');
}
