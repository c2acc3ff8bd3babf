import { describe, expect, it } from 'vitest';
import { createAdmission } from './admission.js';

describe('admission control', () => {
  it('When a product has reached its high-water mark, then its next order is refused while other products are still admitted', () => {
    const admission = createAdmission({ perProduct: 2, total: 10 });
    expect(admission.tryEnter(['a'])).not.toBeNull();
    expect(admission.tryEnter(['a'])).not.toBeNull();
    expect(admission.tryEnter(['a'])).toBeNull();
    expect(admission.tryEnter(['b'])).not.toBeNull();
    expect(admission.inFlight('a')).toBe(2);
    expect(admission.inFlight()).toBe(3);
  });

  it('When the process has reached its total, then any order is refused until one settles', () => {
    const admission = createAdmission({ perProduct: 10, total: 2 });
    const first = admission.tryEnter(['a'])!;
    admission.tryEnter(['b']);
    expect(admission.tryEnter(['c'])).toBeNull();
    first();
    expect(admission.tryEnter(['c'])).not.toBeNull();
  });

  it('When one product of a multi-product order is full, then nothing is taken for the others', () => {
    const admission = createAdmission({ perProduct: 1, total: 10 });
    admission.tryEnter(['b']);
    expect(admission.tryEnter(['a', 'b'])).toBeNull();
    expect(admission.inFlight('a')).toBe(0);
    expect(admission.inFlight()).toBe(1);
  });

  it('When a ticket is given back twice, then the slot is freed once', () => {
    const admission = createAdmission({ perProduct: 2, total: 10 });
    const ticket = admission.tryEnter(['a', 'a'])!;
    admission.tryEnter(['a']);
    expect(admission.inFlight('a')).toBe(2);
    ticket();
    ticket();
    expect(admission.inFlight('a')).toBe(1);
    expect(admission.inFlight()).toBe(1);
  });
});
