import type { BaseContext } from '@bth/platform/subgraph';
import type { SaleEventLoaders, SaleEventService } from './sale-event.service.js';

export interface EventsContext extends BaseContext {
  saleEvents: SaleEventService;
  loaders: SaleEventLoaders;
}
