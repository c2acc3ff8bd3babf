import { z } from 'zod';
import { isUuid } from './validation.js';

/**
 * Ids are UUIDs, stored lower-case. A client (or another service) may send one in upper case;
 * it is the same id, so every boundary (GraphQL arguments, internal request bodies, message
 * payloads) normalises it once here, and nothing behind the boundary lower-cases again.
 */

/** The id in its stored form, or null when `value` is not a UUID. */
export function normalizeId(value: string): string | null {
  return isUuid(value) ? value.toLowerCase() : null;
}

/** The stored form of ids already known to be UUIDs, or the value as it is when it is not one (a lookup then finds nothing). */
export const idKey = (value: string): string => normalizeId(value) ?? value;

/** A zod id field for request bodies: a UUID in any case, parsed to its stored (lower-case) form. */
export const idSchema = z
  .string()
  .refine(isUuid, 'Must be a UUID')
  .transform((value) => value.toLowerCase());
