import DataLoader from 'dataloader';
import { FieldErrors } from '@bth/platform/errors';
import type { Identity } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import { isUuid } from '@bth/platform/validation';
import type { WishlistItemRow } from './db/schema.js';
import type { OrderLine, OrdersClient, PlaceOrderOutcome } from './orders.client.js';
import type { ProductsClient } from './products.client.js';
import type { LockedWishlist, WishlistRepository } from './wishlist.repository.js';
import { WISHLIST_LIMITS, checkQuantity, validateOrder, type ShippingInput } from './validation.js';
import type { ResolversParentTypes, ResolversTypes, ResolversUnionTypes } from './generated/graphql.js';

/**
 * An item as stored: the product by id (the router resolves the product's fields from products).
 * Results are the schema's generated types and carry their `__typename`, which is how the
 * schema's unions tell them apart.
 */
export interface WishlistItemView {
  productId: string;
  quantity: number;
  addedAt: Date;
}

/** The placed order by id (the router resolves its fields from orders). */
export interface WishlistOrderPlacedView {
  __typename: 'WishlistOrderPlaced';
  orderId: string;
  wishlist: WishlistView;
}

export type WishlistView = ResolversParentTypes['Wishlist'] & { __typename: 'Wishlist' };
export type AddToWishlistResult = ResolversUnionTypes<ResolversTypes>['AddToWishlistResult'];
export type ChangeWishlistQuantityResult = ResolversUnionTypes<ResolversTypes>['ChangeWishlistQuantityResult'];
export type OrderWishlistResult = ResolversUnionTypes<ResolversTypes>['OrderWishlistResult'];

const productNotFound = (productId: string) =>
  ({ __typename: 'ProductNotFound', message: `Product ${productId} does not exist`, productId }) as const;
const notInWishlist = (productId: string) =>
  ({ __typename: 'NotInWishlist', message: `Product ${productId} is not in the wishlist`, productId }) as const;

export function toWishlistView(rows: WishlistItemRow[]): WishlistView {
  const items = rows.map((row) => ({ productId: row.productId, quantity: row.quantity, addedAt: row.addedAt }));
  return { __typename: 'Wishlist', items, totalQuantity: items.reduce((sum, item) => sum + item.quantity, 0) };
}

/** What is left of each wishlist item after `ordered` left it; only the ordered products change. */
export function afterOrder(items: WishlistItemRow[], ordered: OrderLine[]): Array<{ productId: string; quantity: number }> {
  const byProduct = new Map(items.map((item) => [item.productId, item.quantity]));
  const changes: Array<{ productId: string; quantity: number }> = [];
  for (const line of ordered) {
    const current = byProduct.get(line.productId);
    // Removed meanwhile: nothing left to take out.
    if (current === undefined) continue;
    changes.push({ productId: line.productId, quantity: Math.max(0, current - line.quantity) });
  }
  return changes;
}

function rejectionMessage(outcome: Extract<PlaceOrderOutcome, { placed: false }>): string {
  if (outcome.message) return outcome.message;
  const about = outcome.productId ? ` (product ${outcome.productId})` : '';
  return `The order was refused: ${outcome.reason}${about}. Nothing was ordered and the wishlist is unchanged.`;
}

export function createWishlistService(deps: {
  repository: WishlistRepository;
  products: ProductsClient;
  orders: OrdersClient;
  logger: Logger;
  now?: () => Date;
}) {
  const { repository, products, orders, logger } = deps;
  const now = deps.now ?? (() => new Date());

  /** A member's wishlist changes rarely concurrently; when its lock cannot be had, the repository answers LOCK_TIMEOUT. */
  const locked = <T>(userId: string, work: (wishlist: LockedWishlist) => Promise<T>): Promise<T> =>
    repository.withLockedWishlist(userId, now(), work);

  return {
    /** Per-request loader: `myWishlist` and `User.wishlist` in one request share one SELECT. */
    createLoader() {
      return new DataLoader<string, WishlistView>(async (userIds) => {
        const rows = await repository.findItemsByUsers(userIds);
        return userIds.map((userId) => toWishlistView(rows.filter((row) => row.userId === userId)));
      });
    },

    /** A wishlist as a field of `User`: private, so only its owner sees it, never another member (admins included). */
    wishlistOf(identity: Identity | null, userId: string, loader: DataLoader<string, WishlistView>): Promise<WishlistView> | null {
      return identity?.userId === userId ? loader.load(userId) : null;
    },

    /**
     * Adding a product already in the wishlist ADDS to its quantity (a second "add" click means
     * "one more", as in a cart); `changeWishlistQuantity` sets it. The total stays within 1–100.
     */
    async add(identity: Identity, rawProductId: string, quantity: number): Promise<AddToWishlistResult> {
      // Stored lower-case, the form orders reports its lines in, so ordered items are found again.
      const productId = rawProductId.toLowerCase();
      checkQuantity(new FieldErrors(), 'quantity', quantity).throwIfAny();
      if (!isUuid(productId)) return productNotFound(rawProductId);
      // Asked before the transaction: no row lock is ever held across a network call.
      if (!(await products.exists(productId))) return productNotFound(rawProductId);
      return locked<AddToWishlistResult>(identity.userId, async (wishlist) => {
        const items = await wishlist.items();
        const existing = items.find((item) => item.productId === productId);
        if (existing) {
          const room = WISHLIST_LIMITS.maxQuantity - existing.quantity;
          new FieldErrors()
            .check(
              quantity <= room,
              'quantity',
              `The wishlist already holds ${existing.quantity} of this product; at most ${room} more can be added (${WISHLIST_LIMITS.maxQuantity} in total)`,
            )
            .throwIfAny();
          await wishlist.setQuantity(productId, existing.quantity + quantity);
        } else {
          if (items.length >= WISHLIST_LIMITS.maxItems) {
            const limit = WISHLIST_LIMITS.maxItems;
            return {
              __typename: 'WishlistFull',
              message: `The wishlist already holds ${limit} different products, the most one order can take`,
              limit,
            };
          }
          await wishlist.insertItem(productId, quantity);
        }
        return toWishlistView(await wishlist.items());
      });
    },

    async changeQuantity(identity: Identity, rawProductId: string, quantity: number): Promise<ChangeWishlistQuantityResult> {
      const productId = rawProductId.toLowerCase();
      checkQuantity(new FieldErrors(), 'quantity', quantity).throwIfAny();
      if (!isUuid(productId)) return notInWishlist(rawProductId);
      return locked<ChangeWishlistQuantityResult>(identity.userId, async (wishlist) => {
        const items = await wishlist.items();
        if (!items.some((item) => item.productId === productId)) return notInWishlist(rawProductId);
        await wishlist.setQuantity(productId, quantity);
        return toWishlistView(await wishlist.items());
      });
    },

    /** Idempotent: removing what is not there changes nothing and still answers the wishlist. */
    async remove(identity: Identity, rawProductId: string): Promise<WishlistView> {
      const productId = rawProductId.toLowerCase();
      if (!isUuid(productId)) return toWishlistView(await repository.findItems(identity.userId));
      return locked<WishlistView>(identity.userId, async (wishlist) => {
        await wishlist.deleteItem(productId);
        return toWishlistView(await wishlist.items());
      });
    },

    /**
     * Orders the whole wishlist as one order. The order is placed first (no lock held across the
     * call); only when it succeeded are the ordered quantities taken out, together with the record
     * of (member, key) → order, in one transaction. A retry with the same key finds that record and
     * answers the same order. A crash between the two steps is healed by the retry too: orders is
     * idempotent by key, answers the same order, and the removal happens then.
     */
    async order(identity: Identity, shipping: ShippingInput, idempotencyKey: string): Promise<OrderWishlistResult> {
      const input = { postalCode: shipping.postalCode.trim(), address: shipping.address.trim(), phone: shipping.phone.trim() };
      validateOrder(input, idempotencyKey).throwIfAny();
      const userId = identity.userId;

      const earlier = await repository.findOrder(userId, idempotencyKey);
      if (earlier)
        return {
          __typename: 'WishlistOrderPlaced',
          orderId: earlier.orderId,
          wishlist: toWishlistView(await repository.findItems(userId)),
        };

      const items = await repository.findItems(userId);
      if (items.length === 0) return { __typename: 'WishlistEmpty', message: 'The wishlist is empty; there is nothing to order.' };
      const sent: OrderLine[] = items.map((item) => ({ productId: item.productId, quantity: item.quantity }));

      const outcome = await orders.place({ userId, lines: sent, shipping: input, idempotencyKey });
      if (!outcome.placed) {
        return {
          __typename: 'WishlistOrderRejected',
          reason: outcome.reason,
          productId: outcome.productId,
          message: rejectionMessage(outcome),
        };
      }

      // What orders recorded wins over what we sent: on a retry after a crash the wishlist may
      // have changed, and orders answers the order of the first attempt.
      const ordered = outcome.lines ?? sent;
      const remaining = await locked<WishlistView>(userId, async (wishlist) => {
        // A concurrent request with the same key may have recorded it first; then it also removed the items.
        if (!(await wishlist.findOrder(idempotencyKey))) {
          await wishlist.insertOrder(idempotencyKey, outcome.orderId, ordered);
          for (const change of afterOrder(await wishlist.items(), ordered)) {
            if (change.quantity === 0) await wishlist.deleteItem(change.productId);
            else await wishlist.setQuantity(change.productId, change.quantity);
          }
        }
        return toWishlistView(await wishlist.items());
      });
      logger.info('wishlist ordered', { userId, orderId: outcome.orderId, lines: ordered.length });
      return { __typename: 'WishlistOrderPlaced', orderId: outcome.orderId, wishlist: remaining };
    },
  };
}

export type WishlistService = ReturnType<typeof createWishlistService>;
