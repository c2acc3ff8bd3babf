import type DataLoader from 'dataloader';
import type { BaseContext } from '@bth/platform/subgraph';
import type { InventoryService } from './inventory.service.js';
import type { ProductLoader, ProductService } from './product.service.js';

export interface ProductsContext extends BaseContext {
  products: ProductService;
  inventory: InventoryService;
  loaders: { product: ProductLoader; saleSold: DataLoader<string, number> };
}
