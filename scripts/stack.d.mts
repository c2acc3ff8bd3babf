// Types for stack.mjs so TypeScript tests can import it.
export declare const ROOT: string;
export declare const SUBGRAPHS: Array<{ name: string; port: number; replicaPorts?: number[] }>;
export declare const ROUTER_PORT: number;
export interface Instance {
  name: string;
  index: number;
  label: string;
  port: number;
  base: string;
  url: string;
  start(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** SIGSTOP: a hung process (connections accepted, nothing answered) until `resume()`. */
  pause(): void;
  resume(): void;
}
export declare function startStack(options: {
  fixedPorts?: boolean;
  databasePrefix?: string;
  env?: Record<string, string>;
  envFor?: Record<string, Record<string, string>>;
  productsReplicas?: number;
  only?: string[];
  startTimeoutMs?: number;
  onLog: (service: string, line: string) => void;
}): Promise<{
  routerUrl: string;
  instances: Instance[];
  databaseUrl: (service: string) => string;
  service: (name: string, index?: number) => Instance;
  stop(): Promise<void>;
}>;
