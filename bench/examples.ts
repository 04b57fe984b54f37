import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ExampleRecord {
  display_ts: string;
  fields: { category: string; type: string; name: string; value: unknown }[];
}

/** The realistic payloads of test/fixtures/examples/ (support ticket, NPS answer, Slack message). */
export function exampleRecords(): ExampleRecord[] {
  return ['support-tickets', 'nps-survey', 'slack-feedback'].map((name) => {
    const file = fileURLToPath(new URL(`../test/fixtures/examples/${name}.json`, import.meta.url));
    return (JSON.parse(readFileSync(file, 'utf8')) as { record: ExampleRecord }).record;
  });
}
