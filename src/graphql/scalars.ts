import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { builder } from './builder.ts';

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'An instant as an RFC 3339 date-time with an offset; answers are in UTC, e.g. 2025-03-14T09:26:53.000Z.',
});
builder.addScalarType('JSON', JSONResolver, { description: 'Any JSON value: an object, array, string, number, boolean or null.' });
