import { describe, expect, it } from 'vitest';
import { validateSignUp, type SignUpInput } from './validation.js';

const valid: SignUpInput = {
  verificationToken: 't',
  email: 'Kim@Example.com',
  password: 'Secr3t!pass',
  name: '김현수',
  nickname: 'hyensu',
  phone: '01012345678',
  postalCode: '06236',
  address: 'Teheran-ro 123',
};
const fields = (input: Partial<SignUpInput>) => validateSignUp({ ...valid, ...input }).list.map((e) => e.field);

describe('validateSignUp', () => {
  it('accepts a valid form, Hangul names included', () => {
    expect(fields({})).toEqual([]);
  });

  it.each([
    ['Abcdefg!', 'no digit'],
    ['12345678!', 'no letter'],
    ['Abcdefg1', 'no special character'],
    ['Ab1!', 'too short'],
    ['Abcdefghijk1!xyzw', 'too long (17)'],
  ])('refuses password %s (%s)', (password) => {
    expect(fields({ password })).toContain('password');
  });

  it.each(['010123456', '01212345678', '010-1234-5678', '021234567'])('refuses phone %s', (phone) => {
    expect(fields({ phone })).toEqual(['phone']);
  });

  it.each(['01612345678', '0191234567'])('accepts phone %s', (phone) => {
    expect(fields({ phone })).toEqual([]);
  });

  it('reports every broken field at once', () => {
    expect(fields({ email: 'x', password: 'x', name: '1', nickname: 'x', phone: 'x', postalCode: 'x', address: '' })).toEqual([
      'email',
      'password',
      'password',
      'name',
      'nickname',
      'phone',
      'postalCode',
      'address',
    ]);
  });
});

describe('text others read', () => {
  it('When the nickname, address or e-mail holds control or direction characters, then each is a field error', () => {
    expect(fields({ nickname: 'hy\u0000ensu', address: 'Teheran-ro \u202E321', email: 'kim\u0007@example.com' }).sort()).toEqual([
      'address',
      'email',
      'nickname',
    ]);
  });
});
