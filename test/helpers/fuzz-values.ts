import fc from 'fast-check';

function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer; got "${text}".`);
  return value;
}

/** fast-check's report and the failure it found, with long repetitions folded ("a"×70000) so both stay readable. */
function report<Ts>(details: fc.RunDetails<Ts>): void {
  if (!details.failed) return;
  // The replay line ({ seed, path }) is kept whole: its path is a long run of digits on purpose.
  const fold = (text: string) =>
    text
      .split('\n')
      .map((line) => (line.includes('seed:') ? line : line.replace(/(.{1,12}?)\1{9,}/g, (run: string, unit: string) => `${unit}…×${run.length / unit.length}`)))
      .join('\n');
  const cut = (text: string) => (text.length > 20_000 ? `${text.slice(0, 20_000)}…` : text);
  const cause = details.errorInstance;
  const failure = cause instanceof Error ? cause.message : String(cause);
  throw new Error(`${cut(fold(fc.defaultReportMessage(details) ?? 'Property failed'))}\n\nFailure:\n${cut(fold(failure))}`, { cause });
}

/**
 * A fixed seed and a few cases per property in `npm test`; `npm run fuzz` (or FUZZ_RUNS, FUZZ_SEED)
 * for a longer run. A failure prints the seed and path that replay it.
 */
export const fuzzSeed = envInteger('FUZZ_SEED', 20_261_122);
export const fuzzRuns = envInteger('FUZZ_RUNS', 100);

export function fuzzParameters<Ts>(): fc.Parameters<Ts> {
  return { seed: fuzzSeed, numRuns: fuzzRuns, reporter: report };
}

/**
 * JSON text that JSON.stringify cannot produce (numbers past the float range, `-0`, integers past
 * 2^53 written exactly) or that would be slow to print (nesting thousands of levels deep).
 */
export class RawJson {
  readonly text: string;
  readonly label: string;

  constructor(text: string, label = text) {
    this.text = text;
    this.label = label;
  }

  [fc.toStringMethod](): string {
    return `raw(${this.label})`;
  }
}

/** Serialises a generated value, writing each RawJson as its text. */
export function toJsonText(value: unknown): string {
  const raws: RawJson[] = [];
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (!(item instanceof RawJson)) return item;
    raws.push(item);
    return `\u0001raw:${raws.length - 1}`;
  });
  return (text ?? 'null').replace(/"\\u0001raw:(\d+)"/g, (_match, index: string) => raws[Number(index)]?.text ?? 'null');
}

export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));

/** One code point from any of the 17 Unicode planes (a lone surrogate when plane 0 lands on one). */
export const anyPlaneCharacter = fc
  .integer({ min: 0, max: 16 })
  .chain((plane) => fc.integer({ min: plane * 0x10000, max: plane * 0x10000 + 0xffff }))
  .map((point) => (point >= 0xd800 && point <= 0xdfff ? String.fromCharCode(point) : String.fromCodePoint(point)));

const trickyCharacter = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u00a0',
  '\u200b',
  '\u200d',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\u{1f600}',
  '\u{10ffff}',
  'e\u0301',
  '\u{1f469}\u200d\u{1f469}\u200d\u{1f467}',
  '"',
  '\\',
  "'",
  '%',
  '<',
  '/',
  '.',
);

const hostileUnit = fc.oneof(trickyCharacter, loneSurrogate, anyPlaneCharacter, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));

const specialStrings = fc.constantFrom(
  '',
  ' ',
  '   ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'a\ud800b',
  '\udc00\ud800',
  '\ud83d',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  'NaN',
  'Infinity',
  '1e309',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  "'; drop table person; --",
  '<script>alert(1)</script>',
  '\u0024{7*7}',
  '../../etc/passwd',
  'API',
  'support tickets',
  'café',
  '\u{1f600}',
);

/** Text of every kind: any code point, graphemes, controls, U+0000, lone surrogates, and lengths around the limits. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii' }) },
  { weight: 3, arbitrary: fc.string({ unit: hostileUnit, maxLength: 40 }) },
  { weight: 3, arbitrary: specialStrings },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', ' ', '\u00e9', '\u{1f600}', '\u0000', '\ud800'), fc.constantFrom(64, 65, 254, 255, 256, 320, 321, 2000, 2001, 10_241, 70_000))
      .map(([unit, count]) => unit.repeat(count)),
  },
);

const edgeNumbers = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  0.5,
  1.5,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  Number.MAX_SAFE_INTEGER + 2,
  Number.MIN_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER - 1,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 63,
  2 ** 64,
  1e21,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
);

/** Numbers at and past the safe-integer and float limits, as JSON.stringify writes them. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: edgeNumbers },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.maxSafeInteger() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** Number literals that only raw JSON text can carry: past the float range, -0, exact big integers. */
export const rawNumber: fc.Arbitrary<RawJson> = fc
  .constantFrom(
    '1e309',
    '-1e309',
    '1e-400',
    '-0',
    '-0.0',
    '1E+2',
    '1.0',
    '9007199254740993',
    '9007199254740992.5',
    '-9007199254740993',
    '123456789012345678901234567890',
    '0.1e1',
    '1e400',
    '100000000000000000000000000000000000000000000e-30',
  )
  .map((text) => new RawJson(text));

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** Date-times assembled from parts just inside and outside their ranges (month 13, hour 24, second 60, offset 23:59). */
const assembledDateTime = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 9999)),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 60 }),
    second: fc.integer({ min: 0, max: 61 }),
    fraction: fc.option(fc.stringMatching(/^\.\d{1,12}$/), { nil: '' }),
    separator: fc.constantFrom('T', 't', ' '),
    offset: fc.oneof(fc.constantFrom('Z', 'z', '', '+00:00', '-00:00', '+14:00', '-23:59', '+23:59'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 })).map(([sign, h, m]) => `${sign}${pad(h, 2)}:${pad(m, 2)}`)),
  })
  .map((d) => `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}${d.separator}${pad(d.hour, 2)}:${pad(d.minute, 2)}:${pad(d.second, 2)}${d.fraction}${d.offset}`);

const assembledDate = fc
  .record({ year: fc.integer({ min: 0, max: 9999 }), month: fc.integer({ min: 0, max: 13 }), day: fc.integer({ min: 0, max: 32 }) })
  .map((d) => `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`);

/** Dates at the edges of the calendar and of JavaScript's and PostgreSQL's ranges. */
export const edgeDate = fc.constantFrom(
  '0000-01-01',
  '0000-01-01T00:00:00Z',
  '0000-01-01T00:00:00+01:00',
  '0001-01-01T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '2024-02-29',
  '2023-02-29',
  '1900-02-29',
  '2000-02-29',
  '2024-02-29T12:00:00Z',
  '2023-02-29T12:00:00Z',
  '9999-12-31',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:60Z',
  '9999-12-31T23:59:59-23:59',
  '2016-12-31T23:59:60Z',
  '2025-03-14T09:26:53.123456789+14:00',
  '2025-03-14T24:00:00Z',
  '2025-03-14T09:26:53',
  '+275760-09-13T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '+010000-01-01T00:00:00Z',
);

export const validDateTime = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString());
export const validDate = validDateTime.map((text) => text.slice(0, 10));

export const hostileDate: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: edgeDate },
  { weight: 3, arbitrary: assembledDateTime },
  { weight: 1, arbitrary: assembledDate },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()) },
);

/** Hostile text short enough for a URL (requests over 16 KiB of headers are refused before the API sees them). */
export const hostileUrlText: fc.Arbitrary<string> = hostileString.map((text) => text.slice(0, 200));

export const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: rawNumber },
  { weight: 2, arbitrary: hostileDate },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** Keys a server might trip on: prototype names, the API's own names, text no column can hold. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'valueOf',
      'hasOwnProperty',
      '__defineGetter__',
      'id',
      'organization_id',
      'organizationId',
      'source_id',
      'sourceId',
      'record_count',
      'deleted',
      'created_at',
      '',
      ' ',
      '\u0000',
      '\ud800',
      'Name',
      'name ',
      '$where',
      'fields[0]',
      'a.b',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: hostileUnit, maxLength: 12 }) },
);

/** Arrays and objects nested far past the 64 levels the API accepts, as raw text. */
export const deepJson: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(63, 64, 65, 100, 1_000, 20_000), fc.constantFrom('array', 'object', 'mixed'))
  .map(([depth, kind]) => {
    const open = kind === 'array' ? '[' : kind === 'object' ? '{"a":' : '[{"a":';
    const close = kind === 'array' ? ']' : kind === 'object' ? '}' : '}]';
    const levels = kind === 'mixed' ? Math.ceil(depth / 2) : depth;
    return new RawJson(`${open.repeat(levels)}${kind === 'array' ? '' : '1'}${close.repeat(levels)}`, `${kind} nested ${depth} levels`);
  });

const smallJson: fc.Arbitrary<unknown> = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileScalar,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie('json'), { maxKeys: 4 }),
  ),
})).json;

/** Lists around the API's limits (100 fields, 500 records) and past them. */
export const bigArray: fc.Arbitrary<unknown[]> = fc
  .tuple(fc.constantFrom(100, 101, 500, 501, 5_000), fc.oneof(hostileNumber, fc.boolean(), fc.constantFrom(null, '', 'x', '\u0000', '\ud800', {}, [])))
  .map(([length, item]) => Array.from({ length }, () => item));

/** Any JSON value: scalars of every kind, small random trees, deep nesting, big lists. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: smallJson },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: bigArray },
);
