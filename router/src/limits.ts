import { createHash } from 'node:crypto';
import { Kind, parse, type DocumentNode, type FragmentDefinitionNode, type OperationTypeNode, type SelectionSetNode } from 'graphql';

/**
 * What an operation costs once its fragments are expanded: the work validation and query
 * planning do grows with these numbers, not with the length of the text (a 1 KB document of
 * fragments that each spread the next one twice expands to millions of fields).
 */
export interface OperationCost {
  /** Fields selected after every fragment spread is replaced by its fragment. */
  fields: number;
  /** Nested field levels (inline fragments and spreads add none). */
  depth: number;
  /** Aliased fields, expanded: aliases are the usual way to ask for the same work many times. */
  aliases: number;
  /** Directives on operations, fields, fragments and spreads, expanded. */
  directives: number;
  /** The most times one response key is selected in one selection set, expanded. */
  repeatedField: number;
  /** Variable definitions over the whole document. */
  variables: number;
}

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxFields: number;
  maxDirectives: number;
  maxRepeatedField: number;
  maxVariables: number;
  /** JSON values (objects, arrays, scalars) in one operation's `variables`. */
  maxVariableValues: number;
  maxOperations: number;
}

/**
 * Generous for real clients, tight for abuse. The app's largest query selects ~60 fields, is
 * ~6 levels deep, and the largest variables are an order of 50 lines (~200 JSON values).
 */
export const DEFAULT_LIMITS: OperationLimits = {
  maxDepth: 10,
  maxAliases: 30,
  // ~8x the largest app query; a 400-field query is validated and planned in < 200 ms here (30 ms once its plan is cached).
  maxFields: 500,
  // @include/@skip on a few fields per screen; 50 leaves room while a flood is thousands.
  maxDirectives: 50,
  // Colocated fragments repeat `id`/`__typename` once each at a level; 20 is twice a busy screen.
  maxRepeatedField: 20,
  // Real operations declare 1–10 variables.
  maxVariables: 30,
  // ~10x the biggest order, and room for an admin's inventory report of ~1,900 product ids.
  maxVariableValues: 2_000,
  maxOperations: 5,
};

/** Counts saturate here: a bomb's expansion can pass 2^53 and the exact number is of no use. */
const SATURATED = Number.MAX_SAFE_INTEGER;
const add = (a: number, b: number) => Math.min(a + b, SATURATED);

interface SetCost {
  fields: number;
  depth: number;
  aliases: number;
  directives: number;
}

/**
 * Costs every operation of the document with each fragment costed once (memoised), so the work
 * is linear in the document size however often fragments are spread. A fragment cycle (a
 * validation error Apollo reports later) counts as empty where it closes.
 */
export function measure(document: DocumentNode): OperationCost {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);

  const empty: SetCost = { fields: 0, depth: 0, aliases: 0, directives: 0 };
  const fragmentCost = new Map<string, SetCost>();
  const costOfFragment = (name: string): SetCost => {
    const known = fragmentCost.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment) return empty;
    fragmentCost.set(name, empty); // In progress: a cycle sees it as empty.
    const inner = costOfSet(fragment.selectionSet);
    const cost = { ...inner, directives: add(inner.directives, fragment.directives?.length ?? 0) };
    fragmentCost.set(name, cost);
    return cost;
  };
  const costOfSet = (set: SelectionSetNode): SetCost => {
    let fields = 0;
    let depth = 0;
    let aliases = 0;
    let directives = 0;
    for (const selection of set.selections) {
      directives = add(directives, selection.directives?.length ?? 0);
      let inner: SetCost;
      if (selection.kind === Kind.FIELD) {
        inner = selection.selectionSet ? costOfSet(selection.selectionSet) : empty;
        fields = add(fields, 1);
        if (selection.alias) aliases = add(aliases, 1);
        depth = Math.max(depth, inner.depth + 1);
      } else {
        inner = selection.kind === Kind.INLINE_FRAGMENT ? costOfSet(selection.selectionSet) : costOfFragment(selection.name.value);
        depth = Math.max(depth, inner.depth);
      }
      fields = add(fields, inner.fields);
      aliases = add(aliases, inner.aliases);
      directives = add(directives, inner.directives);
    }
    return { fields, depth, aliases, directives };
  };

  const total: OperationCost = { fields: 0, depth: 0, aliases: 0, directives: 0, repeatedField: 0, variables: 0 };
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const cost = costOfSet(def.selectionSet);
    total.fields = add(total.fields, cost.fields);
    total.depth = Math.max(total.depth, cost.depth);
    total.aliases = add(total.aliases, cost.aliases);
    total.directives = add(total.directives, add(cost.directives, def.directives?.length ?? 0));
    total.variables += def.variableDefinitions?.length ?? 0;
  }
  return total;
}

/**
 * The most times one response key is selected in one selection set once fragments are merged
 * into it. Only run once `fields` is within its limit: then the merging below is bounded by the
 * expanded field count (each memoised fragment map is merged once per spread that is reached).
 */
export function mostRepeatedField(document: DocumentNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);

  let most = 0;
  // Per fragment: how often each response key appears at the fragment's own level.
  const levelOf = new Map<string, Map<string, number>>();
  const fragmentLevel = (name: string): Map<string, number> => {
    const known = levelOf.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    const level = new Map<string, number>();
    levelOf.set(name, level); // In progress: a cycle sees what is known so far.
    if (fragment) collect(fragment.selectionSet, level);
    return level;
  };
  const collect = (set: SelectionSetNode, level: Map<string, number>) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const key = (selection.alias ?? selection.name).value;
        level.set(key, add(level.get(key) ?? 0, 1));
        if (selection.selectionSet) root(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet, level);
      } else {
        for (const [key, count] of fragmentLevel(selection.name.value)) level.set(key, add(level.get(key) ?? 0, count));
      }
    }
  };
  const root = (set: SelectionSetNode) => {
    const level = new Map<string, number>();
    collect(set, level);
    for (const count of level.values()) most = Math.max(most, count);
  };
  for (const def of document.definitions) if (def.kind === Kind.OPERATION_DEFINITION) root(def.selectionSet);
  return most;
}

/**
 * Counts JSON values without recursion: a deeply nested value must not overflow the stack. Linear
 * in what JSON.parse already built, which the body limit bounds.
 */
export function countJsonValues(value: unknown): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const next = stack.pop();
    count += 1;
    if (next !== null && typeof next === 'object') for (const item of Array.isArray(next) ? next : Object.values(next)) stack.push(item);
  }
  return count;
}

export interface Refusal {
  status: 400;
  code: 'OPERATION_LIMIT_EXCEEDED' | 'BAD_REQUEST';
  message: string;
  /** For limits: which one, its maximum and what the request asked for. */
  limit?: { limit: string; max: number; actual: number };
}

/** What the checker keeps per query text: the cost verdict and the operations it declares. */
interface QueryVerdict {
  refusal: Refusal | null;
  operations: { name: string | null; type: OperationTypeNode }[];
}

/** The parser stops after this many tokens, so a huge document costs bounded work. */
const MAX_TOKENS = 5_000;
const CACHE_SIZE = 1_000;
/** Longer texts are checked every time rather than cached, so the cache stays a few MB. */
const MAX_CACHED_QUERY_LENGTH = 16 * 1024;

const limitRefusal = (limit: string, what: string, max: number, actual: number): Refusal => ({
  status: 400,
  code: 'OPERATION_LIMIT_EXCEEDED',
  message: `${what}: ${actual}, at most ${max} allowed`,
  limit: { limit, max, actual },
});

const badRequest = (message: string): Refusal => ({ status: 400, code: 'BAD_REQUEST', message });

/** One operation of a request as the client sent it (POST body item or GET parameters). */
export interface RequestEnvelope {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

/**
 * Checks a request (one operation or a batch) before Apollo validates and plans it: cost limits
 * are refused with OPERATION_LIMIT_EXCEEDED, and envelope mistakes Apollo's gateway path answers
 * with HTTP 500 (an operationName that names no operation, several operations and no name, an
 * operation type the supergraph has no root for) with BAD_REQUEST. Whatever else is malformed
 * (query not a string, variables not an object, a parse error) is left to Apollo, which already
 * answers it with 400. Verdicts are cached per query text: apps repeat a few queries.
 */
export function createLimitChecker(limits: OperationLimits, rootTypes: ReadonlySet<OperationTypeNode>) {
  const cache = new Map<string, QueryVerdict | null>();

  function judge(query: string): QueryVerdict | null {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: MAX_TOKENS, noLocation: true });
    } catch (error) {
      // graphql-js words it "Document contains more that N tokens".
      if (/contains more tha[nt] \d+ tokens/i.test((error as Error).message)) {
        return { refusal: limitRefusal('tokens', 'Tokens in the query', MAX_TOKENS, MAX_TOKENS + 1), operations: [] };
      }
      return null; // Not parseable: Apollo answers with GRAPHQL_PARSE_FAILED.
    }
    const operations = document.definitions.flatMap((def) =>
      def.kind === Kind.OPERATION_DEFINITION ? [{ name: def.name?.value ?? null, type: def.operation }] : [],
    );
    const cost = measure(document);
    const checks: [keyof OperationLimits, string, string, number][] = [
      ['maxFields', 'fields', 'Fields selected with fragments expanded', cost.fields],
      ['maxDepth', 'depth', 'Levels of nesting', cost.depth],
      ['maxAliases', 'aliases', 'Aliases with fragments expanded', cost.aliases],
      ['maxDirectives', 'directives', 'Directives with fragments expanded', cost.directives],
      ['maxVariables', 'variables', 'Variables declared', cost.variables],
    ];
    for (const [key, limit, what, actual] of checks) {
      if (actual > limits[key]) return { refusal: limitRefusal(limit, what, limits[key], actual), operations };
    }
    const repeated = mostRepeatedField(document);
    if (repeated > limits.maxRepeatedField) {
      return {
        refusal: limitRefusal('repeatedField', 'Times one field is selected in one selection set', limits.maxRepeatedField, repeated),
        operations,
      };
    }
    return { refusal: null, operations };
  }

  function verdictFor(query: string): QueryVerdict | null {
    const cached = cache.get(query);
    if (cached !== undefined) return cached;
    const verdict = judge(query);
    if (query.length <= MAX_CACHED_QUERY_LENGTH) {
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(query, verdict);
    }
    return verdict;
  }

  function checkOne(envelope: RequestEnvelope): Refusal | null {
    const persistedMistake = checkPersistedQuery(envelope);
    if (persistedMistake) return badRequest(persistedMistake);
    if (envelope.variables !== null && typeof envelope.variables === 'object') {
      const values = countJsonValues(envelope.variables);
      // The object holding the variables is not a value the client chose.
      if (values - 1 > limits.maxVariableValues)
        return limitRefusal('variableValues', 'Values in variables', limits.maxVariableValues, values - 1);
    }
    if (typeof envelope.query !== 'string') return null;
    const verdict = verdictFor(envelope.query);
    if (!verdict) return null;
    if (verdict.refusal) return verdict.refusal;
    const { operations } = verdict;
    const name = envelope.operationName;
    if (typeof name !== 'string' && name !== undefined && name !== null) return null; // Apollo: 400.
    let chosen = operations[0];
    if (typeof name === 'string') {
      chosen = operations.find((op) => op.name === name);
      if (!chosen) return badRequest(`operationName "${name.slice(0, 100)}" names no operation in the document`);
    } else if (operations.length > 1) {
      return badRequest('The document has several operations: say which one to run in operationName');
    }
    if (chosen && !rootTypes.has(chosen.type)) return badRequest(`This API has no ${chosen.type} operations`);
    return null;
  }

  /** The type of the operation a single (not batched) request runs, when its document parses and names one. */
  function operationType(body: unknown): OperationTypeNode | null {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
    const { query, operationName } = body as RequestEnvelope;
    if (typeof query !== 'string') return null;
    const operations = verdictFor(query)?.operations ?? [];
    const chosen =
      typeof operationName === 'string'
        ? operations.find((op) => op.name === operationName)
        : operations.length === 1
          ? operations[0]
          : undefined;
    return chosen?.type ?? null;
  }

  return Object.assign(
    function check(body: unknown): Refusal | null {
      const items = Array.isArray(body) ? body : [body];
      if (items.length > limits.maxOperations) {
        return limitRefusal('operations', 'Operations in the batch', limits.maxOperations, items.length);
      }
      for (const [index, item] of items.entries()) {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) continue; // Apollo: 400.
        const refusal = checkOne(item as RequestEnvelope);
        if (refusal)
          return Array.isArray(body) ? { ...refusal, message: `Operation ${index + 1} of the batch: ${refusal.message}` } : refusal;
      }
      return null;
    },
    { operationType },
  );
}

/**
 * Apollo answers a malformed automatic-persisted-query extension (not an object, another version,
 * a hash that does not match the query) with INTERNAL_SERVER_ERROR; each is the client's mistake.
 */
function checkPersistedQuery(envelope: RequestEnvelope): string | null {
  const extensions = envelope.extensions;
  if (extensions === null || typeof extensions !== 'object' || !('persistedQuery' in extensions)) return null;
  const persisted = (extensions as { persistedQuery?: unknown }).persistedQuery;
  if (persisted === null || typeof persisted !== 'object') return 'extensions.persistedQuery must be an object';
  const { version, sha256Hash } = persisted as { version?: unknown; sha256Hash?: unknown };
  if (version !== 1) return 'Only version 1 of persisted queries is supported';
  if (typeof sha256Hash !== 'string' || !/^[0-9a-f]{64}$/i.test(sha256Hash))
    return 'extensions.persistedQuery.sha256Hash must be a SHA-256 hex digest';
  if (typeof envelope.query === 'string' && createHash('sha256').update(envelope.query).digest('hex') !== sha256Hash.toLowerCase()) {
    return 'extensions.persistedQuery.sha256Hash does not match the query';
  }
  return null;
}
