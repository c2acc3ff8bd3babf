// GraphQL operations and payloads of the load scenarios. Plain JavaScript with no imports, so the
// k6 scripts (k6's own runtime) and the Node runner (`runner.mjs`, `bench.mjs`) share one copy.

/** The public product listing the shop's front page asks for (anonymous, cacheable). */
export const LISTING = `query Listing($first: Int!) {
  products(first: $first) { totalCount nodes { id name producer price salePrice saleEndsAt stock } pageInfo { hasNextPage endCursor } }
}`;

export const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on Order { id status totalAmount }
    ... on InsufficientStock { available }
    ... on SaleSoldOut { remaining }
    ... on PurchaseLimitExceeded { limit alreadyPurchased }
    ... on InventoryUnavailable { retryAfterSeconds }
  }
}`;

export const CREATE_PRODUCT = `mutation CreateProduct($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ... on Product { id } }
}`;

export const INVENTORY_REPORT = `query InventoryReport($ids: [ID!]) {
  inventoryReport(productIds: $ids) { consistent soldUnits totalStock totalDifference sales { eventId sold heldByOrders maxPerMember consistent } }
}`;

export const REQUEST_CODE = `mutation RequestCode($e: String!) { requestEmailVerification(email: $e) { email } }`;
export const VERIFY = `mutation Verify($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`;
export const SIGN_UP = `mutation SignUp($input: SignUpInput!) { signUp(input: $input) { id } }`;
export const LOGIN = `mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

export const PASSWORD = 'L0ad!test';

export function signUpInput(email, verificationToken) {
  return {
    verificationToken,
    email,
    password: PASSWORD,
    name: 'Load Tester',
    nickname: 'loader',
    phone: '01012345678',
    postalCode: '06236',
    address: 'Teheran-ro 123',
  };
}

export function productInput(name, stock, price = 19_900) {
  return { name, producer: 'BooTakHae Bench', price, function: 'IMPROVE_FATIGUE', type: 'CAPSULE', nutritionFacts: 'Vitamin C 1000 mg', stock };
}

/** One unit of the hot product; a fresh idempotency key per attempt (each is a new purchase). */
export function orderInput(productId, idempotencyKey, saleEventId) {
  return {
    lines: [saleEventId ? { productId, quantity: 1, saleEventId } : { productId, quantity: 1 }],
    shipping: { postalCode: '06236', address: 'Teheran-ro 123', phone: '01012345678' },
    idempotencyKey,
  };
}

/** Placement outcomes that are right answers under a flash sale (not failures of the system). */
export const EXPECTED_REFUSALS = ['InsufficientStock', 'SaleSoldOut', 'PurchaseLimitExceeded'];
