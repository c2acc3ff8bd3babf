import type DataLoader from 'dataloader';
import type { BaseContext } from '@bth/platform/subgraph';
import type { AuthService } from './auth.service.js';
import type { UsersService, UserView } from './users.service.js';
import type { VerificationService } from './verification.service.js';

export interface UsersContext extends BaseContext {
  auth: AuthService;
  users: UsersService;
  verification: VerificationService;
  loaders: { user: DataLoader<string, UserView | null> };
}
