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
