import { describe, expect, it } from 'vitest';
import { isPlainText } from './validation.js';

describe('isPlainText', () => {
  it('When the text is what people type (Hangul, emoji, accents, quotes), then it is plain', () => {
    for (const text of ['비타민 C 1000', 'Milk Thistle 🌿', 'Crème brûlée', 'O\'Brien & "Sons"', 'Z̤͔ͧ̑̓'])
      expect(isPlainText(text), text).toBe(true);
  });

  it('When the text holds a control character, a bidirectional override or a lone surrogate, then it is not', () => {
    for (const text of [
      'a\u0000b',
      'a\u0007b',
      '\u001b[31mred',
      'a\u007fb',
      'a\u0085b',
      'abc\u202Efdp.exe',
      'a\u2066b',
      'x\uD800y',
      'x\uDC00y',
      'a\tb',
      'a\nb',
    ]) {
      expect(isPlainText(text), JSON.stringify(text)).toBe(false);
    }
  });

  it('When a multi-line text holds tabs and line breaks, then it is plain, but not with other controls', () => {
    expect(isPlainText('Vitamin C 100 mg\r\n\tZinc 8 mg', { multiline: true })).toBe(true);
    expect(isPlainText('a\u0000b', { multiline: true })).toBe(false);
  });
});
