import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { runTransaction, type Database, type Transaction } from '@bth/platform/db';
import { wishlistItems, wishlistOrders, wishlists, type WishlistItemRow, type WishlistOrderRow } from './db/schema.js';

type Executor = Database | Transaction;

/** Newest first; product id breaks ties so the order is stable within one millisecond. */
const listOrder = [desc(wishlistItems.addedAt), asc(wishlistItems.productId)] as const;

function itemsOf(db: Executor, userId: string): Promise<WishlistItemRow[]> {
  return db
    .select()
    .from(wishlistItems)
    .where(eq(wishlistItems.userId, userId))
    .orderBy(...listOrder);
}

function findOrder(db: Executor, userId: string, idempotencyKey: string): Promise<Pick<WishlistOrderRow, 'orderId'> | undefined> {
  return db
    .select({ orderId: wishlistOrders.orderId })
    .from(wishlistOrders)
    .where(and(eq(wishlistOrders.userId, userId), eq(wishlistOrders.idempotencyKey, idempotencyKey)))
    .limit(1)
    .then((rows) => rows[0]);
}

/** What the service may do while it holds the lock on one member's wishlist. */
export interface LockedWishlist {
  items(): Promise<WishlistItemRow[]>;
  insertItem(productId: string, quantity: number): Promise<void>;
  setQuantity(productId: string, quantity: number): Promise<void>;
  deleteItem(productId: string): Promise<void>;
  findOrder(idempotencyKey: string): Promise<Pick<WishlistOrderRow, 'orderId'> | undefined>;
  insertOrder(idempotencyKey: string, orderId: string, lines: WishlistOrderRow['lines']): Promise<void>;
}

/** The only place in `wishlists` that speaks SQL. Rules live in the service. */
export function createWishlistRepository(db: Database) {
  return {
    findItems: (userId: string) => itemsOf(db, userId),

    async findItemsByUsers(userIds: readonly string[]): Promise<WishlistItemRow[]> {
      if (userIds.length === 0) return [];
      return db
        .select()
        .from(wishlistItems)
        .where(inArray(wishlistItems.userId, [...userIds]))
        .orderBy(...listOrder);
    },

    findOrder: (userId: string, idempotencyKey: string) => findOrder(db, userId, idempotencyKey),

    /**
     * Runs `work` in one transaction holding the member's wishlist row `FOR UPDATE`. The upsert
     * both creates the row on first use and takes the exclusive lock in one statement (a plain
     * `INSERT IGNORE` would take a shared lock first, and two requests upgrading it deadlock).
     * Throwing inside `work` rolls everything back.
     */
    async withLockedWishlist<T>(userId: string, now: Date, work: (locked: LockedWishlist) => Promise<T>): Promise<T> {
      return runTransaction(db, async (tx) => {
        await tx
          .insert(wishlists)
          .values({ userId, createdAt: now })
          .onDuplicateKeyUpdate({ set: { userId: sql`${wishlists.userId}` } });
        const item = (productId: string) => and(eq(wishlistItems.userId, userId), eq(wishlistItems.productId, productId));
        return work({
          items: () => itemsOf(tx, userId),
          async insertItem(productId, quantity) {
            await tx.insert(wishlistItems).values({ userId, productId, quantity, addedAt: now, updatedAt: now });
          },
          async setQuantity(productId, quantity) {
            await tx.update(wishlistItems).set({ quantity, updatedAt: now }).where(item(productId));
          },
          async deleteItem(productId) {
            await tx.delete(wishlistItems).where(item(productId));
          },
          findOrder: (idempotencyKey) => findOrder(tx, userId, idempotencyKey),
          async insertOrder(idempotencyKey, orderId, lines) {
            await tx.insert(wishlistOrders).values({ userId, idempotencyKey, orderId, lines, createdAt: now });
          },
        });
      });
    },
  };
}

export type WishlistRepository = ReturnType<typeof createWishlistRepository>;
