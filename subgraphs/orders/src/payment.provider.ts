import { createHash } from 'node:crypto';
import type { PaymentMethod } from './db/schema.js';

/**
 * The payment provider behind an interface, so a real PSP can replace the simulator without
 * touching the order rules. Both calls must be idempotent by `idempotencyKey` (every real PSP
 * offers this): orders may repeat a call after a crash or a timeout and must never charge or
 * refund twice.
 */
export interface ChargeRequest {
  orderId: string;
  /** Integer KRW, always taken from the stored order. */
  amount: number;
  method: PaymentMethod;
  /** Unique per payment attempt (orders passes the payment id). */
  idempotencyKey: string;
}

export type ChargeResult = { outcome: 'APPROVED'; providerRef: string } | { outcome: 'DECLINED'; reason: string };

export interface RefundRequest {
  orderId: string;
  paymentRef: string;
  amount: number;
  idempotencyKey: string;
}

export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<{ providerRef: string }>;
}

/**
 * A deterministic stand-in: approves everything except the methods in `declineMethods`
 * (env `PAYMENT_SIMULATOR_DECLINE_METHOD=MOBILE` lets a test through the real service see a
 * decline). References are derived from the idempotency key, so repeats give the same answer
 * with no state to lose on restart — the property a real provider gives us by key.
 */
export function createSimulatedPaymentProvider(options: { declineMethods?: readonly PaymentMethod[] } = {}): PaymentProvider {
  const declined = new Set(options.declineMethods ?? []);
  const ref = (prefix: string, key: string) => `${prefix}_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
  return {
    async charge(request) {
      if (declined.has(request.method)) return { outcome: 'DECLINED', reason: `The ${request.method} payment was declined by the issuer` };
      return { outcome: 'APPROVED', providerRef: ref('sim_ch', request.idempotencyKey) };
    },
    async refund(request) {
      return { providerRef: ref('sim_re', request.idempotencyKey) };
    },
  };
}
