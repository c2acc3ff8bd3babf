import type DataLoader from 'dataloader';
import type { BaseContext } from '@bth/platform/subgraph';
import type { WishlistService, WishlistView } from './wishlist.service.js';

export interface WishlistsContext extends BaseContext {
  wishlists: WishlistService;
  loaders: { wishlist: DataLoader<string, WishlistView> };
}
