/** `npm run schema:print`: rewrites schema.graphql from the code. */
import { writeFile } from 'node:fs/promises';
import { printSchemaText } from './schema.ts';

await writeFile(new URL('../../schema.graphql', import.meta.url), printSchemaText());
console.log('Wrote schema.graphql');
