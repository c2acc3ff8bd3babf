import { FieldErrors } from '@bth/platform/errors';
import { isMobilePhone, isPlainText, isPostalCode, textLength } from '@bth/platform/validation';
import type { SignUpInput } from './generated/graphql.js';

/** Pure rules for user input; every broken rule is collected so a form can show them all at once. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
const PASSWORD_SPECIALS = /[!@#$%^&*()[\]{}\-_=+~?.,:;'"<>/\\|`]/;
const NAME = /^[\p{L}][\p{L}\p{M} .'-]*$/u;

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export function checkEmail(errors: FieldErrors, field: string, email: string): FieldErrors {
  return errors.check(email.length <= 254 && EMAIL.test(email) && isPlainText(email), field, 'Enter a valid e-mail address');
}

export function checkPassword(errors: FieldErrors, field: string, password: string): FieldErrors {
  const length = textLength(password);
  errors.check(length >= 8 && length <= 16, field, 'The password must be 8 to 16 characters long');
  errors.check(
    /[A-Za-z]/.test(password) && /\d/.test(password) && PASSWORD_SPECIALS.test(password),
    field,
    'The password must contain a letter, a digit and a special character',
  );
  return errors;
}

export function checkPhone(errors: FieldErrors, field: string, phone: string): FieldErrors {
  return errors.check(isMobilePhone(phone), field, 'Enter a mobile number such as 01012345678');
}

export function checkAddress(errors: FieldErrors, postalField: string, postalCode: string, addressField: string, address: string) {
  errors.check(isPostalCode(postalCode), postalField, 'Enter a 5-digit postal code');
  const length = textLength(address.trim());
  errors.check(length >= 1 && length <= 100, addressField, 'Enter the address (at most 100 characters)');
  errors.check(isPlainText(address), addressField, 'Only printable text: no control or text-direction characters');
  return errors;
}

/** The input types are the schema's (generated): one definition of what a client sends. */
export type { SignUpInput };

export function validateSignUp(input: SignUpInput): FieldErrors {
  const errors = new FieldErrors();
  checkEmail(errors, 'email', normaliseEmail(input.email));
  checkPassword(errors, 'password', input.password);
  const name = input.name.trim();
  errors.check(textLength(name) >= 2 && textLength(name) <= 50 && NAME.test(name), 'name', 'Enter your name (2 to 50 letters)');
  const nickname = input.nickname.trim();
  errors.check(textLength(nickname) >= 2 && textLength(nickname) <= 30, 'nickname', 'The nickname must be 2 to 30 characters long');
  errors.check(isPlainText(nickname), 'nickname', 'Only printable text: no control or text-direction characters');
  checkPhone(errors, 'phone', input.phone);
  checkAddress(errors, 'postalCode', input.postalCode, 'address', input.address);
  return errors;
}
