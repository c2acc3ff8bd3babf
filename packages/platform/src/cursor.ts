import { isUuid } from './validation.js';

/**
 * The one cursor codec of keyset pagination. A cursor is the sort key of a page's last row, as
 * base64url of a JSON array: opaque to clients, safe in a URL, and a page costs an index seek
 * instead of an OFFSET scan. Decoding is declarative: the caller names the kind of each part, and
 * anything this API did not issue (another alphabet, too long, not JSON, the wrong shape) is null,
 * which services answer as a field error on `after`.
 */
export type CursorPartKind = 'uuid' | 'int' | 'string' | 'time';
type PartOf<K extends CursorPartKind> = K extends 'time' ? Date : K extends 'int' ? number : string;
export type CursorParts<S extends readonly CursorPartKind[]> = { -readonly [I in keyof S]: PartOf<S[I]> };

// A sort key is a few short values; 400 characters leaves room for a long product name and no more.
const MAX_CURSOR_LENGTH = 400;

/** `time` parts travel as epoch milliseconds. */
export function encodeKeysetCursor(parts: ReadonlyArray<string | number | Date>): string {
  const values = parts.map((part) => (part instanceof Date ? part.getTime() : part));
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

export function decodeKeysetCursor<const S extends readonly CursorPartKind[]>(cursor: string, shape: S): CursorParts<S> | null {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length) return null;
  const parts: unknown[] = [];
  for (const [i, kind] of shape.entries()) {
    const value: unknown = parsed[i];
    switch (kind) {
      case 'uuid':
        if (typeof value !== 'string' || !isUuid(value)) return null;
        parts.push(value);
        break;
      case 'string':
        if (typeof value !== 'string') return null;
        parts.push(value);
        break;
      case 'int':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) return null;
        parts.push(value);
        break;
      case 'time':
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || Number.isNaN(new Date(value).getTime())) return null;
        parts.push(new Date(value));
        break;
    }
  }
  return parts as CursorParts<S>;
}
