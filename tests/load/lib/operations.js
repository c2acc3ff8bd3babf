// GraphQL operations and payloads of the load scenarios. Plain ES2020 with no imports, so the k6
// scripts (k6 v0.48+, whose JavaScript engine stops at ES2020) and the Node runner (`runner.mjs`,
// `bench.mjs`) share one copy. Every document here is validated against schema/supergraph.graphql
// and this file is parsed as ES2020 by tests/load/k6.test.ts: no numeric separators, `??=`, class
// fields or runtime APIs newer than ES2020.

/** The public product listing the shop's front page asks for (anonymous, cacheable). */
export const LISTING = `query Listing($first: Int!) {
  products(first: $first) { totalCount nodes { id name producer price salePrice saleEndsAt stock } pageInfo { hasNextPage endCursor } }
}`;

/** A listing page as a shopper browses it: cursor paging, filters and sort order. */
export const PRODUCTS_PAGE = `query ProductsPage($first: Int!, $after: String, $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    nodes { id name producer price salePrice saleEndsAt stock function type }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** The product page. */
export const PRODUCT_DETAIL = `query ProductDetail($id: ID!) {
  product(id: $id) {
    id name producer price salePrice saleEndsAt stock function type nutritionFacts
    activeSale { id name salePrice remaining endsAt }
  }
}`;

/** Whether a product's sale is live (the flash sale waits on this before the rush). */
export const PRODUCT_SALE = `query ProductSale($id: ID!) {
  product(id: $id) { id stock activeSale { id status remaining } }
}`;

/** The signed-in member's wishlist with its products' names and prices: wishlists, then products. */
export const MY_WISHLIST = `query MyWishlist {
  myWishlist { totalQuantity items { productId quantity product { id name price salePrice stock } } }
}`;

export const ADD_TO_WISHLIST = `mutation AddToWishlist($productId: ID!, $quantity: Int!) {
  addToWishlist(productId: $productId, quantity: $quantity) {
    __typename
    ... on Wishlist { totalQuantity }
    ... on WishlistFull { limit }
    ... on ProductNotFound { productId }
  }
}`;

export const CHANGE_WISHLIST_QUANTITY = `mutation ChangeWishlistQuantity($productId: ID!, $quantity: Int!) {
  changeWishlistQuantity(productId: $productId, quantity: $quantity) {
    __typename
    ... on Wishlist { totalQuantity }
    ... on NotInWishlist { productId }
  }
}`;

export const REMOVE_FROM_WISHLIST = `mutation RemoveFromWishlist($productId: ID!) {
  removeFromWishlist(productId: $productId) { totalQuantity }
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

export const PAY_ORDER = `mutation PayOrder($orderId: ID!, $method: PaymentMethod!, $idempotencyKey: String!) {
  payOrder(orderId: $orderId, method: $method, idempotencyKey: $idempotencyKey) {
    __typename
    ... on Order { id status payment { amount paidAt } }
    ... on PaymentDeclined { reason }
    ... on OrderNotPayable { status }
  }
}`;

export const CREATE_PRODUCT = `mutation CreateProduct($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ... on Product { id } }
}`;

export const CREATE_SALE_EVENT = `mutation CreateSaleEvent($input: CreateSaleEventInput!) {
  createSaleEvent(input: $input) { id status quantity perUserLimit salePrice startsAt endsAt }
}`;

export const SALE_EVENT = `query SaleEvent($id: ID!) {
  saleEvent(id: $id) { id status quantity perUserLimit remaining product { id } }
}`;

export const INVENTORY_REPORT = `query InventoryReport($ids: [ID!]) {
  inventoryReport(productIds: $ids) {
    consistent soldUnits totalStock totalDifference
    products { productId stock sold difference }
    sales { eventId quantity perUserLimit sold heldByOrders maxPerMember difference consistent }
  }
}`;

export const REQUEST_CODE = `mutation RequestCode($e: String!) { requestEmailVerification(email: $e) { email } }`;
export const VERIFY = `mutation Verify($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`;
export const SIGN_UP = `mutation SignUp($input: SignUpInput!) { signUp(input: $input) { id } }`;
export const LOGIN = `mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

export const PASSWORD = 'L0ad!test';

/** The enum values of ProductFunction and ProductType (checked against the schema by the unit test). */
export const PRODUCT_FUNCTIONS = [
  'ACTIVE_BOWEL',
  'INTESTINE_HEALTH',
  'LIVER_HEALTH',
  'EYE_HEALTH',
  'BLOOD_CIRCULATION',
  'JOINT_HEALTH',
  'IMPROVE_MEMORY',
  'IMPROVE_FATIGUE',
  'SKIN_HEALTH',
  'BONE_HEALTH',
];
export const PRODUCT_TYPES = ['CAPSULE', 'POWDER', 'DRINK', 'SPRAY', 'PILL'];
export const PRODUCT_ORDERS = ['NEWEST', 'PRICE_ASC', 'PRICE_DESC', 'NAME_ASC'];

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

export function productInput(name, stock, price = 19900, kind = 0) {
  return {
    name,
    producer: 'BooTakHae Bench',
    price,
    function: kind ? PRODUCT_FUNCTIONS[kind % PRODUCT_FUNCTIONS.length] : 'IMPROVE_FATIGUE',
    type: kind ? PRODUCT_TYPES[kind % PRODUCT_TYPES.length] : 'CAPSULE',
    nutritionFacts: 'Vitamin C 1000 mg',
    stock,
  };
}

export const SHIPPING = { postalCode: '06236', address: 'Teheran-ro 123', phone: '01012345678' };

/** One unit of the hot product; a fresh idempotency key per attempt (each is a new purchase). */
export function orderInput(productId, idempotencyKey, saleEventId) {
  return {
    lines: [saleEventId ? { productId, quantity: 1, saleEventId } : { productId, quantity: 1 }],
    shipping: SHIPPING,
    idempotencyKey,
  };
}

/** A sale of `quantity` units of a product, opening `leadMs` from now and lasting `minutes`. */
export function saleEventInput(productId, { name, salePrice, quantity, perUserLimit, leadMs, minutes }) {
  const startsAt = Date.now() + leadMs;
  return {
    name,
    productId,
    salePrice,
    quantity,
    perUserLimit,
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(startsAt + minutes * 60000).toISOString(),
  };
}

/**
 * Every way an admin inventory report (INVENTORY_REPORT) shows an oversell or lost units, as
 * messages; [] when it holds. With `sale` ({ eventId, quantity, perUserLimit }) that sale must be
 * in the report, within its quantity and per-member limit, and its counter equal the units held.
 */
export function inventoryViolations(report, sale) {
  const broken = [];
  if (!report.consistent) broken.push('the report is not consistent');
  if (report.totalDifference !== 0) broken.push(`stock differs from the ledger by ${report.totalDifference} units`);
  report.products.forEach((p) => {
    if (p.stock < 0) broken.push(`product ${p.productId} has stock ${p.stock}`);
    if (p.difference !== 0) broken.push(`product ${p.productId} differs from its ledger by ${p.difference} units`);
  });
  if (!sale) return broken;
  const sales = report.sales.filter((s) => s.eventId === sale.eventId);
  if (sales.length !== 1) broken.push(`sale ${sale.eventId} is missing from the report`);
  sales.forEach((s) => {
    if (!s.consistent) broken.push(`sale ${s.eventId} is not consistent`);
    if (s.sold > sale.quantity) broken.push(`sale ${s.eventId} oversold: ${s.sold} of ${sale.quantity} units`);
    if (s.heldByOrders !== s.sold) broken.push(`sale ${s.eventId} counts ${s.sold} sold but orders hold ${s.heldByOrders}`);
    if (s.maxPerMember > sale.perUserLimit)
      broken.push(`a member holds ${s.maxPerMember} units of sale ${s.eventId}, over the limit of ${sale.perUserLimit}`);
  });
  return broken;
}

/** Placement outcomes that are right answers under a flash sale (not failures of the system). */
export const EXPECTED_REFUSALS = ['InsufficientStock', 'SaleSoldOut', 'PurchaseLimitExceeded'];
