import { describe, expect, it } from 'vitest';
import type { SaleEventStatus } from './db/schema.js';
import { cancelDecision, dueTransition, effectiveStatus, isActiveAt, isEditable } from './sale-event.lifecycle.js';

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
  it('edits only a scheduled event before its start (products sells on its terms from then on)', () => {
    expect(isEditable(event('SCHEDULED'), ms(START, -1))).toBe(true);
    expect(isEditable(event('SCHEDULED'), START)).toBe(false);
    for (const status of ['LIVE', 'ENDED', 'CANCELLED'] as const) expect(isEditable(event(status), ms(START, -1))).toBe(false);
  });

  it('cancels scheduled and live events, repeats a cancel harmlessly, refuses an ended one', () => {
    expect(cancelDecision(event('SCHEDULED'), START)).toBe('CANCEL');
    expect(cancelDecision(event('LIVE'), START)).toBe('CANCEL');
    expect(cancelDecision(event('CANCELLED'), START)).toBe('ALREADY_CANCELLED');
    expect(cancelDecision(event('ENDED'), START)).toBe('NOT_EDITABLE');
    // Over by the clock, though the scheduler has not closed it yet.
    expect(cancelDecision(event('LIVE'), END)).toBe('NOT_EDITABLE');
  });
});

describe('isActiveAt (the clock rule products applies too)', () => {
  it('is true for a scheduled or live event inside its half-open window, whether or not the scheduler has ticked', () => {
    for (const status of ['SCHEDULED', 'LIVE'] as const) {
      expect(isActiveAt(event(status), START)).toBe(true);
      expect(isActiveAt(event(status), ms(END, -1))).toBe(true);
      expect(isActiveAt(event(status), END)).toBe(false);
      expect(isActiveAt(event(status), ms(START, -1))).toBe(false);
    }
    expect(isActiveAt(event('ENDED'), START)).toBe(false);
    expect(isActiveAt(event('CANCELLED'), START)).toBe(false);
  });
});

describe('effectiveStatus', () => {
  it('moves a stored status on by the clock: LIVE exactly from the start, ENDED exactly from the end', () => {
    expect(effectiveStatus(event('SCHEDULED'), ms(START, -1))).toBe('SCHEDULED');
    expect(effectiveStatus(event('SCHEDULED'), START)).toBe('LIVE');
    expect(effectiveStatus(event('SCHEDULED'), END)).toBe('ENDED');
    expect(effectiveStatus(event('LIVE'), ms(END, -1))).toBe('LIVE');
    expect(effectiveStatus(event('LIVE'), END)).toBe('ENDED');
    expect(effectiveStatus(event('CANCELLED'), START)).toBe('CANCELLED');
    expect(effectiveStatus(event('ENDED'), START)).toBe('ENDED');
  });
});
