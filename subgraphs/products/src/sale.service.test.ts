import { describe, expect, it } from 'vitest';
import { decideSaleChange } from './sale.service.js';

const message = (status: 'SCHEDULED' | 'LIVE' | 'ENDED' | 'CANCELLED', revision = 2, quantity = 10) => ({ status, revision, quantity });
const row = (status: 'SCHEDULED' | 'LIVE' | 'ENDED' | 'CANCELLED', revision = 1, sold = 0) => ({ status, revision, sold });

describe('decideSaleChange (messages late, twice or out of order)', () => {
  it('learns a sale from whichever message comes first', () => {
    expect(decideSaleChange('sale.scheduled', message('SCHEDULED'), undefined)).toEqual({ kind: 'INSERT', status: 'SCHEDULED' });
    expect(decideSaleChange('sale.started', message('LIVE'), undefined)).toEqual({ kind: 'INSERT', status: 'LIVE' });
    expect(decideSaleChange('sale.ended', message('CANCELLED'), undefined)).toEqual({ kind: 'INSERT', status: 'CANCELLED' });
  });

  it('applies newer terms of a scheduled sale only, never older ones', () => {
    expect(decideSaleChange('sale.updated', message('SCHEDULED', 5), row('SCHEDULED', 4))).toEqual({ kind: 'TERMS' });
    expect(decideSaleChange('sale.updated', message('SCHEDULED', 4), row('SCHEDULED', 5)).kind).toBe('NONE');
    expect(decideSaleChange('sale.scheduled', message('SCHEDULED', 1), row('SCHEDULED', 5)).kind).toBe('NONE');
  });

  it('confirms the opening, and ignores a late scheduled/updated once open', () => {
    expect(decideSaleChange('sale.started', message('LIVE'), row('SCHEDULED'))).toEqual({ kind: 'OPEN' });
    expect(decideSaleChange('sale.started', message('LIVE'), row('LIVE')).kind).toBe('NONE');
    expect(decideSaleChange('sale.updated', message('SCHEDULED', 9), row('LIVE')).kind).toBe('NONE');
  });

  it('closes a scheduled or live sale, and nothing reopens an ended or cancelled one', () => {
    expect(decideSaleChange('sale.ended', message('CANCELLED'), row('SCHEDULED'))).toEqual({ kind: 'CLOSE', status: 'CANCELLED' });
    expect(decideSaleChange('sale.ended', message('ENDED'), row('LIVE'))).toEqual({ kind: 'CLOSE', status: 'ENDED' });
    for (const closed of ['ENDED', 'CANCELLED'] as const) {
      expect(decideSaleChange('sale.started', message('LIVE'), row(closed)).kind).toBe('NONE');
      expect(decideSaleChange('sale.scheduled', message('SCHEDULED', 99), row(closed)).kind).toBe('NONE');
      expect(decideSaleChange('sale.ended', message('ENDED'), row(closed)).kind).toBe('NONE');
    }
  });

  it('never takes back sale units the clock already sold', () => {
    expect(decideSaleChange('sale.updated', message('SCHEDULED', 5, 3), row('SCHEDULED', 1, 4)).kind).toBe('NONE');
  });
});
