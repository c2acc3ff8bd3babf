import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import { errors } from '@bth/platform/errors';
import { requireAdmin, type Identity } from '@bth/platform/identity';
import { normalizeId } from '@bth/platform/ids';
import type { ProductRow } from './db/schema.js';
import type { QueryProductsArgs, ResolversParentTypes, ResolversTypes, ResolversUnionTypes } from './generated/graphql.js';
import { encodeCursor, sortKeyOf } from './listing-cursor.js';
import type { ListingPage, ListingQuery, ProductCache } from './product-cache.js';
import { toProductView, type ProductView } from './product.model.js';
import type { ListingFilter, ProductRepository } from './product.repository.js';
import {
  validateCreateProduct,
  validatePage,
  validateUpdateProduct,
  type CreateProductInput,
  type UpdateProductInput,
} from './product.validation.js';

export type ProductLoader = DataLoader<string, ProductView | null>;

/** The listing's arguments and answer, as the schema defines them (products as views). */
export type ProductsArgs = QueryProductsArgs;
export type ProductConnection = ResolversParentTypes['ProductConnection'];

/** What `createProduct` and `updateProduct` answer (the schema's union; the product as a view). */
export type SaveProductResult = ResolversUnionTypes<ResolversTypes>['CreateProductResult'];

/** Ids are lower-case UUIDs; anything else names no product (and costs no query). */
const productId = normalizeId;

/**
 * The catalogue: public reads through the cache, admin writes with validation. Reads never look
 * at who is asking, so identical public queries can be shared between callers.
 */
export function createProductService(deps: { repository: ProductRepository; cache: ProductCache; now?: () => Date }) {
  const { repository, cache } = deps;
  const now = deps.now ?? (() => new Date());

  /** Cache first; the misses in one SELECT; written back only if no write happened meanwhile. */
  async function loadBatch(ids: readonly string[]): Promise<Array<ProductView | null>> {
    const cached = await cache.getProducts(ids);
    if (cached.misses.length === 0) return ids.map((id) => cached.found.get(id) ?? null);
    const rows = await withSales(await repository.findLiveByIds(cached.misses));
    await cache.putProducts(rows, cached.token);
    const loaded = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => cached.found.get(id) ?? loaded.get(id) ?? null);
  }

  /** The rows as views, each with its open sales' windows (one SELECT for all of them). */
  async function withSales(rows: ProductRow[]): Promise<ProductView[]> {
    const windows = await repository.findOpenSales(
      rows.map((row) => row.id),
      now(),
    );
    return rows.map((row) =>
      toProductView(
        row,
        windows.filter((w) => w.productId === row.id).map(({ productId: _productId, ...window }) => window),
      ),
    );
  }

  async function duplicate(name: string, producer: string): Promise<SaveProductResult> {
    return {
      __typename: 'DuplicateProduct',
      message: `A product named "${name}" by ${producer} already exists`,
      name,
      producer,
      existingProductId: (await repository.findLiveIdByName(name, producer)) ?? null,
    };
  }

  return {
    /** Per-request loader: `product`, listing pages and `_entities` for Product share one batch. */
    createLoader(): ProductLoader {
      return new DataLoader<string, ProductView | null>(loadBatch);
    },

    getProduct(id: string, loader: ProductLoader): Promise<ProductView | null> | null {
      const key = productId(id);
      return key ? loader.load(key) : null;
    },

    async listProducts(args: ProductsArgs, loader: ProductLoader): Promise<ProductConnection> {
      const order = args.orderBy ?? 'NEWEST';
      const page = validatePage(order, args.first, args.after);
      page.errors.throwIfAny();
      const filter: ListingFilter = {
        function: args.filter?.function ?? null,
        type: args.filter?.type ?? null,
        onSale: args.filter?.onSale ?? null,
      };
      const query: ListingQuery = { ...filter, orderBy: order, first: page.first, after: args.after ?? null };
      const cached = await cache.getListingWithProducts(query);
      let listing: ListingPage | null = cached.page;
      // Products read with the page need no second cache read; any not found go through the loader.
      for (const [id, product] of cached.products) loader.prime(id, product);
      if (!listing) {
        const at = now();
        // The filter's count survives across pages, orders and page sizes (see product-cache.ts).
        const [rows, totalCount] = await Promise.all([
          repository.listPage(filter, order, page.after, page.first + 1, at),
          cached.totalCount ?? repository.countListed(filter, at),
        ]);
        const shown = rows.slice(0, page.first);
        listing = {
          ids: shown.map((row) => row.id),
          cursors: shown.map((row) => encodeCursor(order, sortKeyOf(order, row))),
          hasNextPage: rows.length > page.first,
          totalCount,
        };
        // Which products are on sale changes at every sale's start and end with no write to
        // invalidate the page, so an onSale page is kept only until the next such edge.
        const until = filter.onSale === null ? null : await repository.nextSaleEdge(at);
        await cache.putListing(query, cached.generation, listing, until);
      }
      const products = await loader.loadMany(listing.ids);
      const edges: ProductConnection['edges'] = [];
      products.forEach((product, i) => {
        // A product deleted since the page was cached drops out rather than failing the page.
        if (product && !(product instanceof Error)) edges.push({ cursor: listing.cursors[i]!, node: product });
      });
      return {
        edges,
        nodes: edges.map((edge) => edge.node),
        pageInfo: { hasNextPage: listing.hasNextPage, endCursor: listing.cursors.at(-1) ?? null },
        totalCount: listing.totalCount,
      };
    },

    async createProduct(identity: Identity | null, input: CreateProductInput): Promise<SaveProductResult> {
      requireAdmin(identity);
      const { errors: fieldErrors, fields, stock } = validateCreateProduct(input);
      fieldErrors.throwIfAny();
      const at = now();
      const row = { id: randomUUID(), ...fields, stock, createdAt: at, updatedAt: at };
      const saved = await repository.insertWithInitialStock(row);
      if (!saved.ok) return duplicate(fields.name, fields.producer);
      await cache.invalidate([row.id], { listings: true });
      return { __typename: 'Product', ...row, sales: [] };
    },

    /** Stock is not editable here: it changes only through the inventory, with a ledger row. */
    async updateProduct(identity: Identity | null, id: string, input: UpdateProductInput): Promise<SaveProductResult> {
      requireAdmin(identity);
      const { errors: fieldErrors, changes } = validateUpdateProduct(input);
      fieldErrors.throwIfAny();
      const key = productId(id);
      if (!key) throw errors.notFound('Product');
      const updated = await repository.updateLive(key, changes, now());
      if (updated === 'NOT_FOUND') throw errors.notFound('Product');
      if (updated === 'DUPLICATE') {
        const current = (await repository.findLiveByIds([key]))[0];
        return duplicate(changes.name ?? current?.name ?? '', changes.producer ?? current?.producer ?? '');
      }
      await cache.invalidate([key], { listings: true });
      return { __typename: 'Product', ...(await withSales([updated]))[0]! };
    },

    /** Soft delete: orders and the ledger keep pointing at the row; it is no longer found, listed or reservable. */
    async deleteProduct(identity: Identity | null, id: string): Promise<boolean> {
      requireAdmin(identity);
      const key = productId(id);
      if (!key || !(await repository.softDelete(key, now()))) throw errors.notFound('Product');
      await cache.invalidate([key], { listings: true });
      return true;
    },
  };
}

export type ProductService = ReturnType<typeof createProductService>;
