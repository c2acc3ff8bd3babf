import { describe, expect, it } from 'vitest';
import type { SaleEventStatus } from './db/schema.js';
import { cancelDecision, dueTransition, isActiveAt, isEditable } from './sale-event.lifecycle.js';

const START = new Date('2026-11-25T14:00:00.000Z');
const END = new Date('2026-11-25T15:00:00.000Z');
const event = (status: SaleEventStatus) => ({ status, startsAt: START, endsAt: END });
const ms = (date: Date, offset: number) => new Date(date.getTime() + offset);

describe('dueTransition', () => {
  it('leaves a scheduled event alone until its start, then opens it (the start is inclusive)', () => {
    expect(dueTransition(event('SCHEDULED'), ms(START, -1))).toBeNull();
    expect(dueTransition(event('SCHEDULED'), START)).toEqual({ to: 'LIVE' });
  });

  it('opens a scheduled event late while its window lasts (after downtime)', () => {
    expect(dueTransition(event('SCHEDULED'), ms(END, -1))).toEqual({ to: 'LIVE' });
  });

  it('ends a scheduled event whose whole window passed as MISSED, never opening it', () => {
    expect(dueTransition(event('SCHEDULED'), END)).toEqual({ to: 'ENDED', reason: 'MISSED' });
    expect(dueTransition(event('SCHEDULED'), ms(END, 86_400_000))).toEqual({ to: 'ENDED', reason: 'MISSED' });
  });

  it('closes a live event at its end (the end is exclusive)', () => {
    expect(dueTransition(event('LIVE'), ms(END, -1))).toBeNull();
    expect(dueTransition(event('LIVE'), END)).toEqual({ to: 'ENDED', reason: 'ENDED' });
  });

  it('never moves an ended or cancelled event', () => {
    for (const status of ['ENDED', 'CANCELLED'] as const) {
      expect(dueTransition(event(status), START)).toBeNull();
      expect(dueTransition(event(status), ms(END, 1))).toBeNull();
    }
  });
});

describe('edits and cancels', () => {
  it('edits only a scheduled event', () => {
    expect(isEditable('SCHEDULED')).toBe(true);
    for (const status of ['LIVE', 'ENDED', 'CANCELLED'] as const) expect(isEditable(status)).toBe(false);
  });

  it('cancels scheduled and live events, repeats a cancel harmlessly, refuses an ended one', () => {
    expect(cancelDecision('SCHEDULED')).toBe('CANCEL');
    expect(cancelDecision('LIVE')).toBe('CANCEL');
    expect(cancelDecision('CANCELLED')).toBe('ALREADY_CANCELLED');
    expect(cancelDecision('ENDED')).toBe('NOT_EDITABLE');
  });
});

describe('isActiveAt', () => {
  it('is true only for a live event inside its half-open window', () => {
    expect(isActiveAt(event('LIVE'), START)).toBe(true);
    expect(isActiveAt(event('LIVE'), ms(END, -1))).toBe(true);
    expect(isActiveAt(event('LIVE'), END)).toBe(false);
    expect(isActiveAt(event('LIVE'), ms(START, -1))).toBe(false);
    expect(isActiveAt(event('SCHEDULED'), START)).toBe(false);
    expect(isActiveAt(event('ENDED'), START)).toBe(false);
  });
});
