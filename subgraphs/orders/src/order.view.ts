import type { FieldCipher } from '@bth/platform';
import type { OrderRow } from './db/schema.js';
import type { OrderView, Rejection, ShippingView } from './order.model.js';

/**
 * Row ⇄ view mapping. The shipping address and phone are personal data: they are stored as one
 * AES-256-GCM ciphertext (random IV, so equal addresses look different at rest) and decrypted
 * only here.
 */
export function createOrderViews(cipher: FieldCipher) {
  return {
    encryptShipping(shipping: ShippingView): string {
      return cipher.encrypt(JSON.stringify({ postalCode: shipping.postalCode, address: shipping.address, phone: shipping.phone }));
    },

    toView(row: OrderRow): OrderView {
      const shipping = JSON.parse(cipher.decrypt(row.shippingEnc)) as ShippingView;
      return {
        __typename: 'Order',
        id: row.id,
        userId: row.userId,
        status: row.status,
        totalAmount: row.totalAmount,
        shipping,
        paymentDueAt: row.paymentDueAt,
        paidAt: row.paidAt,
        deliveredAt: row.deliveredAt,
        returnRequest: row.returnReason && row.returnRequestedAt ? { reason: row.returnReason, requestedAt: row.returnRequestedAt } : null,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      };
    },

    rejectionOf(row: OrderRow): Rejection {
      if (!row.rejection) throw new Error(`order ${row.id} is REJECTED without a recorded reason`);
      return JSON.parse(row.rejection) as Rejection;
    },
  };
}

export type OrderViews = ReturnType<typeof createOrderViews>;
