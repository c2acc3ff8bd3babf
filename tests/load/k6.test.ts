import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseJs } from 'acorn';
import {
  buildSchema,
  getVariableValues,
  isEnumType,
  parse as parseGraphql,
  validate,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The k6 scripts run in k6's own engine (k6 v0.48: ES2020 at most, no Node), which no other test
 * executes; this keeps them loadable there and their GraphQL right against the supergraph, so a
 * user's `k6 run` fails on the system under test rather than on the script.
 */
const LOAD = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(LOAD, '..', '..');
const OPERATIONS = join(LOAD, 'lib', 'operations.js');
const jsIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => join(dir, f));
const SCRIPTS = jsIn(join(LOAD, 'k6'));
const K6_FILES = [...SCRIPTS, ...jsIn(join(LOAD, 'k6', 'lib')), OPERATIONS];
const name = (file: string) => relative(ROOT, file);

interface AstNode {
  type: string;
  [key: string]: unknown;
}

function parseEs2020(file: string): AstNode {
  return parseJs(readFileSync(file, 'utf8'), { ecmaVersion: 2020, sourceType: 'module' }) as unknown as AstNode;
}

function* walk(node: unknown): Generator<AstNode> {
  if (Array.isArray(node)) {
    for (const child of node) yield* walk(child);
  } else if (node && typeof node === 'object' && typeof (node as AstNode).type === 'string') {
    yield node as AstNode;
    for (const [key, value] of Object.entries(node)) if (key !== 'type') yield* walk(value);
  }
}

// Runtime APIs after ES2020 (k6 v0.48's engine lacks them) and Node's globals.
const NEWER_METHODS = new Set([
  'at',
  'hasOwn',
  'replaceAll',
  'findLast',
  'findLastIndex',
  'toSorted',
  'toReversed',
  'toSpliced',
  'with',
  'groupBy',
]);
const NODE_GLOBALS = new Set([
  'process',
  'require',
  'Buffer',
  'structuredClone',
  'setImmediate',
  '__dirname',
  '__filename',
  'fetch',
  'performance',
]);
const K6_MODULES = new Set(['k6', 'k6/http', 'k6/metrics', 'k6/execution']);
const OPERATION_START = /^\s*(query|mutation|subscription)\b/;

/** Every string or expression-free template literal in a file that is a GraphQL operation. */
function documentsIn(file: string): Array<{ where: string; text: string }> {
  const found: Array<{ where: string; text: string }> = [];
  for (const node of walk(parseEs2020(file))) {
    let text: string | undefined;
    if (node.type === 'Literal' && typeof node.value === 'string') text = node.value;
    if (node.type === 'TemplateLiteral' && (node.expressions as unknown[]).length === 0) {
      text = (node.quasis as Array<{ value: { cooked: string } }>)[0]!.value.cooked;
    }
    if (text && OPERATION_START.test(text)) found.push({ where: `${name(file)}:${String(node.start)}`, text });
  }
  return found;
}

let schema: GraphQLSchema;
let operations: Record<string, unknown>;

beforeAll(async () => {
  // The supergraph SDL (join__ directives and all) builds as it is: the router does the same.
  schema = buildSchema(readFileSync(join(ROOT, 'schema', 'supergraph.graphql'), 'utf8'));
  operations = (await import(pathToFileURL(OPERATIONS).href)) as Record<string, unknown>;
});

describe('k6 load scripts', () => {
  it('When the k6 directory is listed, then browse, flash-sale and mixed scripts are there', () => {
    expect(SCRIPTS.map((f) => name(f)).sort()).toEqual(
      expect.arrayContaining(['tests/load/k6/browse.js', 'tests/load/k6/flash-sale.js', 'tests/load/k6/mixed.js']),
    );
  });

  it.each(K6_FILES.map((f) => [name(f), f]))('When %s is parsed as an ES2020 module, then it parses', (_label, file) => {
    expect(() => parseEs2020(file)).not.toThrow();
  });

  it.each(K6_FILES.map((f) => [name(f), f]))(
    'When %s is read, then it imports only k6 modules and the shared k6 files, and uses no Node or post-ES2020 runtime API',
    (_label, file) => {
      const problems: string[] = [];
      for (const node of walk(parseEs2020(file))) {
        if (
          node.type === 'ImportDeclaration' ||
          node.type === 'ExportAllDeclaration' ||
          (node.type === 'ExportNamedDeclaration' && node.source)
        ) {
          const source = String((node.source as { value: string }).value);
          const allowed = K6_MODULES.has(source) || (source.startsWith('.') && K6_FILES.includes(resolve(dirname(file), source)));
          if (!allowed) problems.push(`import ${source}`);
        }
        if (node.type === 'ImportExpression') problems.push('dynamic import()');
        if (node.type === 'MemberExpression' && !node.computed) {
          const property = (node.property as { name?: string }).name;
          if (property && NEWER_METHODS.has(property)) problems.push(`.${property}`);
        }
        if (node.type === 'Identifier' && NODE_GLOBALS.has(String(node.name))) problems.push(String(node.name));
      }
      expect(problems).toEqual([]);
    },
  );

  it.each(SCRIPTS.map((f) => [name(f), f]))(
    'When %s is read, then it exports options, a default function and handleSummary',
    (_label, file) => {
      const exported = new Set<string>();
      for (const node of walk(parseEs2020(file))) {
        if (node.type === 'ExportDefaultDeclaration') exported.add('default');
        if (node.type !== 'ExportNamedDeclaration') continue;
        const declaration = node.declaration as AstNode | null;
        if (declaration?.type === 'FunctionDeclaration') exported.add(String((declaration.id as { name: string }).name));
        if (declaration?.type === 'VariableDeclaration') {
          for (const d of declaration.declarations as Array<{ id: { name: string } }>) exported.add(d.id.name);
        }
        for (const s of (node.specifiers as Array<{ exported: { name: string } }> | undefined) ?? []) exported.add(s.exported.name);
      }
      expect([...exported]).toEqual(expect.arrayContaining(['options', 'default', 'handleSummary']));
    },
  );

  it('When every GraphQL document of the k6 files is validated against the supergraph, then none has an error', () => {
    const documents = K6_FILES.flatMap(documentsIn);
    const exported = Object.entries(operations).filter(([, v]) => typeof v === 'string' && OPERATION_START.test(v));
    // Each exported document is among those found in the source, so all are validated below.
    expect(exported.length).toBeGreaterThanOrEqual(15);
    expect(documents.map((d) => d.text)).toEqual(expect.arrayContaining(exported.map(([, v]) => v)));
    const problems = documents.flatMap(({ where, text }) => {
      try {
        return validate(schema, parseGraphql(text)).map((e) => `${where}: ${e.message}`);
      } catch (error) {
        return [`${where}: ${(error as Error).message}`];
      }
    });
    expect(problems).toEqual([]);
  });

  it('When the payload builders of operations.js fill the variables of their documents, then every value coerces to the schema input types', () => {
    const fn = <T extends unknown[]>(key: string) => operations[key] as (...args: T) => unknown;
    const id = '0b6c7a52-41a8-4c9e-9d53-2f1c5a7c9e10';
    const cases: Array<[string, Record<string, unknown>]> = [
      ['SIGN_UP', { input: fn('signUpInput')('a@example.com', 'token') }],
      ['PLACE_ORDER', { input: fn('orderInput')(id, 'key-1') }],
      ['PLACE_ORDER', { input: fn('orderInput')(id, 'key-2', id) }],
      [
        'CREATE_SALE_EVENT',
        { input: fn('saleEventInput')(id, { name: 'Sale', salePrice: 9900, quantity: 100, perUserLimit: 1, leadMs: 3000, minutes: 10 }) },
      ],
      ...Array.from({ length: 12 }, (_, kind): [string, Record<string, unknown>] => [
        'CREATE_PRODUCT',
        { input: fn('productInput')(`P ${kind}`, 10, 19900, kind) },
      ]),
      ['PAY_ORDER', { orderId: id, method: 'CARD', idempotencyKey: 'k' }],
      ['PRODUCTS_PAGE', { first: 20, after: null, filter: { function: 'EYE_HEALTH', type: 'PILL', onSale: true }, orderBy: 'PRICE_ASC' }],
    ];
    const problems = cases.flatMap(([key, variables]) => {
      const document = parseGraphql(String(operations[key]));
      const operation = document.definitions[0] as OperationDefinitionNode;
      const result = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
      return (result.errors ?? []).map((e) => `${key}: ${e.message}`);
    });
    expect(problems).toEqual([]);
  });

  it('When the enum lists of operations.js are compared with the schema, then they hold exactly its values', () => {
    const values = (type: string) => {
      const enumType = schema.getType(type);
      if (!isEnumType(enumType)) throw new Error(`${type} is not an enum`);
      return enumType
        .getValues()
        .map((v) => v.name)
        .sort();
    };
    expect([...(operations.PRODUCT_FUNCTIONS as string[])].sort()).toEqual(values('ProductFunction'));
    expect([...(operations.PRODUCT_TYPES as string[])].sort()).toEqual(values('ProductType'));
    expect([...(operations.PRODUCT_ORDERS as string[])].sort()).toEqual(values('ProductOrder'));
  });

  it('When an inventory report shows an oversell, lost units or a member over the limit, then inventoryViolations names each, and a sound report gives none', () => {
    type Violations = (report: unknown, sale?: { eventId: string; quantity: number; perUserLimit: number }) => string[];
    const violationsOf = operations.inventoryViolations as Violations;
    const sale = { eventId: 'e1', quantity: 100, perUserLimit: 1 };
    const sound = {
      consistent: true,
      soldUnits: 100,
      totalStock: 100,
      totalDifference: 0,
      products: [{ productId: 'p1', stock: 100, sold: 100, difference: 0 }],
      sales: [
        { eventId: 'e1', quantity: 100, perUserLimit: 1, sold: 100, heldByOrders: 100, maxPerMember: 1, difference: 0, consistent: true },
      ],
    };
    expect(violationsOf(sound, sale)).toEqual([]);
    expect(violationsOf(sound)).toEqual([]);
    const oversold = {
      ...sound,
      consistent: false,
      totalDifference: -1,
      products: [{ productId: 'p1', stock: -1, sold: 101, difference: -1 }],
      sales: [{ ...sound.sales[0], sold: 101, heldByOrders: 102, maxPerMember: 2, consistent: false }],
    };
    expect(violationsOf(oversold, sale)).toEqual([
      'the report is not consistent',
      'stock differs from the ledger by -1 units',
      'product p1 has stock -1',
      'product p1 differs from its ledger by -1 units',
      'sale e1 is not consistent',
      'sale e1 oversold: 101 of 100 units',
      'sale e1 counts 101 sold but orders hold 102',
      'a member holds 2 units of sale e1, over the limit of 1',
    ]);
    expect(violationsOf({ ...sound, sales: [] }, sale)).toEqual(['sale e1 is missing from the report']);
  });
});
