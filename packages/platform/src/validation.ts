/**
 * Format checks used by more than one subgraph (users' profile, orders' shipping address).
 * Korean formats, as in the original product: mobile numbers 010/011/016/017/018/019 followed by
 * 7–8 digits, written without separators; postal codes of 5 digits.
 */
export const MOBILE_PHONE = /^01[016-9]\d{7,8}$/;
export const POSTAL_CODE = /^\d{5}$/;

export const isMobilePhone = (value: string) => MOBILE_PHONE.test(value);
export const isPostalCode = (value: string) => POSTAL_CODE.test(value);
/** Length in user-perceived characters, so Hangul and emoji count as one each. */
export const textLength = (value: string) => [...value].length;
export const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

// C0 and C1 control characters (NUL, escape sequences, DEL), with or without the three line-break
// characters a multi-line text may hold, and the bidirectional overrides and isolates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's whole job
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, line breaks allowed
const CONTROL_BUT_LINE_BREAKS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text a person typed and others will read: no control characters (a NUL or an escape sequence
 * in a product name reaches every shopper and every log), no bidirectional overrides (they make
 * one text display as another), and well-formed UTF-16 (MariaDB stores a lone surrogate as
 * U+FFFD, so what we would answer and what we keep would differ). Tabs and line breaks only where
 * the field is `multiline`.
 */
export function isPlainText(value: string, options: { multiline?: boolean } = {}): boolean {
  return !(options.multiline ? CONTROL_BUT_LINE_BREAKS : CONTROL).test(value) && !LONE_SURROGATE.test(value);
}
