// Types for seed.mjs so TypeScript tests can import it.
export declare const DEMO_ACCOUNTS: {
  admin: { email: string; password: string; name: string; nickname: string };
  member: { email: string; password: string; name: string; nickname: string };
};
export declare const DEMO_SALE_NAME: string;
export interface DemoSale {
  id: string;
  name: string;
  status: string;
  startsAt: string;
  endsAt: string;
  salePrice: number;
  quantity: number;
  perUserLimit: number;
  productId: string;
  productName: string;
}
export declare function catalogueSize(routerUrl: string): Promise<number>;
export declare function seedDemo(options: {
  routerUrl: string;
  usersBase: string;
  promoteAdmin: (email: string) => Promise<void>;
  log: (line: string) => void;
  progress?: (done: number, total: number) => void;
  now?: () => Date;
}): Promise<{ changes: string[]; sale: DemoSale; memberToken: string; adminToken: string }>;
export declare function sandboxTips(routerUrl: string, sale?: DemoSale): string;
export declare function createAdminRunner(env: Record<string, string>): (email: string) => Promise<void>;
