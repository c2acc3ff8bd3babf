import type { BaseContext } from '@bth/platform/subgraph';
import type { LifecycleService } from './order-lifecycle.service.js';
import type { OrderLoaders, OrderService } from './order.service.js';
import type { PaymentService } from './payment.service.js';

export interface OrdersContext extends BaseContext {
  orders: OrderService;
  payments: PaymentService;
  lifecycle: LifecycleService;
  loaders: OrderLoaders;
}
