/**
 * Admission control in front of the order path (issue 10, target 4).
 *
 * Products already bounds its per-product queue (INVENTORY_QUEUE_HIGH_WATER), but under a crowd
 * the pile forms before it: a thousand buyers at once wait in this process (and the router) for
 * CPU, database connections and the inventory call, and every one of them is slow. So this
 * process counts the orders it is placing — per product and in total — and past either
 * high-water mark answers the next one at once with the retryable `InventoryUnavailable`
 * (`retryAfterSeconds`), before it writes anything or calls inventory. The orders already
 * admitted keep the latency of a sustainable load; the excess hears "come back in a second"
 * within milliseconds instead of a timeout.
 *
 * What it never does: refuse an order that was already accepted (a ticket is only asked for
 * before the order exists, and a refused request neither writes nor reserves anything), or answer
 * a replay of an already placed order with a refusal (the caller looks the idempotency key up
 * before refusing; see `placeOrder`).
 *
 * Counts are per process: with several orders instances each bounds its own share.
 */
export interface AdmissionLimits {
  /** Orders of one product being placed at once by this process; the next one is refused. */
  perProduct: number;
  /** Orders being placed at once by this process, all products; the next one is refused. */
  total: number;
}

/** Give the slot back when the order is settled (placed, refused or failed); calling it twice is harmless. */
export type AdmissionTicket = () => void;

export function createAdmission(limits: AdmissionLimits) {
  const perProduct = new Map<string, number>();
  let total = 0;

  return {
    /**
     * A ticket for an order over these products, or null when this process is already placing
     * `total` orders or `perProduct` orders of one of them. All slots or none are taken.
     */
    tryEnter(productIds: readonly string[]): AdmissionTicket | null {
      const ids = [...new Set(productIds)];
      if (total >= limits.total) return null;
      for (const id of ids) if ((perProduct.get(id) ?? 0) >= limits.perProduct) return null;
      total += 1;
      for (const id of ids) perProduct.set(id, (perProduct.get(id) ?? 0) + 1);
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        total -= 1;
        for (const id of ids) {
          const left = (perProduct.get(id) ?? 1) - 1;
          // Dropped at zero so a catalogue of a million products leaves no map behind.
          if (left > 0) perProduct.set(id, left);
          else perProduct.delete(id);
        }
      };
    },

    /** Orders being placed now (for tests and metrics): of one product, or in total. */
    inFlight(productId?: string): number {
      return productId === undefined ? total : (perProduct.get(productId) ?? 0);
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;
