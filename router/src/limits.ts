import { Kind, parse, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * Operation limits, checked on the request body before Apollo parses, validates or plans it.
 * Depth counts nested selection sets through fragments (a fragment cycle is already a
 * validation error); aliases count every aliased field, the usual way to multiply work.
 */
export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
}

export function measure(document: DocumentNode): { depth: number; aliases: number } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  let aliases = 0;
  const walk = (set: SelectionSetNode, depth: number, seen: Set<string>): number => {
    let max = depth;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases += 1;
        if (selection.selectionSet) max = Math.max(max, walk(selection.selectionSet, depth + 1, seen));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        max = Math.max(max, walk(selection.selectionSet, depth, seen));
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !seen.has(name)) max = Math.max(max, walk(fragment.selectionSet, depth, new Set([...seen, name])));
      }
    }
    return max;
  };
  let depth = 0;
  for (const def of document.definitions) {
    if (def.kind === Kind.OPERATION_DEFINITION) depth = Math.max(depth, walk(def.selectionSet, 1, new Set()));
  }
  return { depth, aliases };
}

export interface LimitViolation {
  message: string;
  limit: 'depth' | 'aliases' | 'operations' | 'tokens';
  max: number;
  actual: number;
}

/** The parser stops after this many tokens, so a huge document costs bounded work. */
const MAX_TOKENS = 5_000;
const CACHE_SIZE = 1_000;

/**
 * Checks a request body (one operation or a batch) before Apollo parses and validates it, so
 * an abusive query is refused with OPERATION_LIMIT_EXCEEDED instead of costing validation and
 * query planning. Results are cached per query text: load tests and apps repeat a few queries.
 */
export function createLimitChecker(limits: OperationLimits & { maxOperations: number }) {
  const cache = new Map<string, LimitViolation | null>();

  function checkQuery(query: string): LimitViolation | null {
    const cached = cache.get(query);
    if (cached !== undefined) return cached;
    let verdict: LimitViolation | null = null;
    try {
      const { depth, aliases } = measure(parse(query, { maxTokens: MAX_TOKENS, noLocation: true }));
      if (depth > limits.maxDepth) {
        verdict = { message: `The query is ${depth} levels deep; at most ${limits.maxDepth} are allowed`, limit: 'depth', max: limits.maxDepth, actual: depth };
      } else if (aliases > limits.maxAliases) {
        verdict = { message: `The query uses ${aliases} aliases; at most ${limits.maxAliases} are allowed`, limit: 'aliases', max: limits.maxAliases, actual: aliases };
      }
    } catch (error) {
      // graphql-js words it "Document contains more that N tokens".
      if (/contains more tha[nt] \d+ tokens/i.test((error as Error).message)) {
        verdict = { message: `The query has more than ${MAX_TOKENS} tokens`, limit: 'tokens', max: MAX_TOKENS, actual: MAX_TOKENS + 1 };
      } else {
        return null; // Not parseable: Apollo answers with GRAPHQL_PARSE_FAILED.
      }
    }
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(query, verdict);
    return verdict;
  }

  return function check(body: unknown): LimitViolation | null {
    const operations = Array.isArray(body) ? body : [body];
    if (operations.length > limits.maxOperations) {
      return {
        message: `The request carries ${operations.length} operations; at most ${limits.maxOperations} are allowed`,
        limit: 'operations',
        max: limits.maxOperations,
        actual: operations.length,
      };
    }
    for (const operation of operations) {
      const query = (operation as { query?: unknown } | null)?.query;
      if (typeof query === 'string') {
        const violation = checkQuery(query);
        if (violation) return violation;
      }
    }
    return null;
  };
}
