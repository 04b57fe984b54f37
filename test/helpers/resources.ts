import { readFile } from 'node:fs/promises';

// The REST resources of SPEC §6 as a client reads them, and request bodies to create them.

export interface RestSource {
  id: number;
  name: string;
  type: string;
  description: string | null;
  record_count: number;
  created_at: string;
  updated_at: string;
}

export interface RestCompany {
  id: number;
  name: string;
  domain: string | null;
}

export interface RestPerson {
  id: number;
  email: string | null;
  external_id: string | null;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  boundary: string;
  company_id: number | null;
  company: RestCompany | null;
  created_at: string;
  updated_at: string;
}

export interface RestField {
  category: string;
  type: string;
  name: string;
  value: unknown;
}

export interface RestRecord {
  id: number;
  source_id: number;
  person_id: number | null;
  external_id: string | null;
  display_ts: string;
  fields: RestField[];
  created_at: string;
}

export interface RestPage<T> {
  data: T[];
  next_cursor: string | null;
}

export interface RestDeleted {
  id: number;
  deleted: boolean;
}

/** One string content field named `text`: the field most tests ingest. */
export function textField(value: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { category: 'content', type: 'string', name: 'text', value, ...extra };
}

/** The smallest valid record body: one string content field. */
export function textRecord(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { fields: [textField(text)], ...extra };
}

/** A realistic body from test/fixtures/examples, without the `_expect` note of the invalid ones. */
export async function loadExample<T = Record<string, unknown>>(name: string): Promise<T> {
  const text = await readFile(new URL(`../fixtures/examples/${name}`, import.meta.url), 'utf8');
  const { _expect: _note, ...body } = JSON.parse(text) as Record<string, unknown>;
  return body as T;
}

/** The three bodies of an example file: a source, a person and one of their records. */
export interface Example {
  source: Record<string, unknown>;
  person: Record<string, unknown>;
  record: { fields: RestField[] } & Record<string, unknown>;
}
