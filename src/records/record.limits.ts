/**
 * The limits of a record's fields. record-fields.ts enforces them; the error catalog and the schemas'
 * descriptions state them from here. This module imports nothing, so the catalog can read it.
 */
export const MAX_FIELDS = 100;
/** The JSON text of one value, in bytes of UTF-8. */
export const MAX_VALUE_BYTES = 10_240;
export const MAX_NAME_LENGTH = 255;
