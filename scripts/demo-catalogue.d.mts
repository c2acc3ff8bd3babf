// Types for demo-catalogue.mjs so TypeScript tests can import it.
export interface DemoProduct {
  name: string;
  producer: string;
  price: number;
  function: string;
  type: string;
  nutritionFacts: string;
  stock: number;
}
export declare function demoCatalogue(): DemoProduct[];
export declare const DEMO_SALE_PRODUCT: string;
export declare const DEMO_WISHLIST: Array<{ name: string; quantity: number }>;
