import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printIntrospectionText } from '../src/graphql/print-schema.ts';
import { printSchemaText } from '../src/graphql/schema.ts';

describe('schema.graphql', () => {
  it('matches the schema printed from the code (run npm run schema:print after changing it)', async () => {
    const committed = await readFile(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSchemaText());
  });
});

describe('src/graphql/introspection.ts', () => {
  it('matches the schema printed from the code, so REST route documents are typed by the schema they run on (run npm run schema:print)', async () => {
    const committed = await readFile(new URL('../src/graphql/introspection.ts', import.meta.url), 'utf8');
    expect(committed).toBe(printIntrospectionText());
  });
});
