-- The catalogue. `stock` is changed only by the inventory (with a stock_ledger row in the same
-- transaction). A deleted product keeps its row (orders and the ledger still point at it) with
-- `deleted_at` set; `live` is 1 for live rows and NULL for deleted ones, so the unique key on
-- (name, producer, live) lets a deleted product's name be used again (NULLs never collide).
-- sale_* stay NULL until the events work sets them while a sale is live.
CREATE TABLE products (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(50) NOT NULL,
  producer VARCHAR(30) NOT NULL,
  price INT NOT NULL,
  `function` ENUM('ACTIVE_BOWEL', 'INTESTINE_HEALTH', 'LIVER_HEALTH', 'EYE_HEALTH', 'BLOOD_CIRCULATION', 'JOINT_HEALTH', 'IMPROVE_MEMORY', 'IMPROVE_FATIGUE', 'SKIN_HEALTH', 'BONE_HEALTH') NOT NULL,
  `type` ENUM('CAPSULE', 'POWDER', 'DRINK', 'SPRAY', 'PILL') NOT NULL,
  nutrition_facts VARCHAR(250) NULL,
  stock INT NOT NULL,
  sale_event_id CHAR(36) NULL,
  sale_price INT NULL,
  sale_ends_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  live TINYINT AS (IF(deleted_at IS NULL, 1, NULL)) STORED,
  CONSTRAINT products_stock_non_negative CHECK (stock >= 0),
  CONSTRAINT products_price_non_negative CHECK (price >= 0),
  UNIQUE KEY products_name_producer_live (name, producer, live),
  KEY products_newest_idx (created_at, id),
  KEY products_price_idx (price, id),
  KEY products_name_idx (name, id)
) ENGINE=InnoDB;

-- Every stock change, signed. For each product: SUM(quantity_delta) = products.stock (the
-- inventory invariant). The unique key makes each order-keyed change happen at most once per
-- (order, product, kind); INITIAL/ADJUSTMENT rows have no order and NULLs never collide.
CREATE TABLE stock_ledger (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  product_id CHAR(36) NOT NULL,
  order_id CHAR(36) NULL,
  kind ENUM('INITIAL', 'ADJUSTMENT', 'RESERVATION', 'RELEASE', 'RESTOCK') NOT NULL,
  quantity_delta INT NOT NULL,
  reason VARCHAR(200) NULL,
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY stock_ledger_order_product_kind (order_id, product_id, kind),
  KEY stock_ledger_product_idx (product_id)
) ENGINE=InnoDB;

-- One row per order id that inventory has seen: the first statement of a reservation inserts it,
-- so concurrent repeats of one order queue on its primary key instead of reserving twice. A row
-- with status RELEASED and no lines is a tombstone: release arrived before (or instead of) reserve.
CREATE TABLE reservations (
  order_id CHAR(36) NOT NULL PRIMARY KEY,
  user_id CHAR(36) NULL,
  status ENUM('RESERVED', 'RELEASED', 'RESTOCKED') NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY reservations_user_idx (user_id)
) ENGINE=InnoDB;

-- What a reservation took and at what price, in request order, so a repeat answers exactly the
-- first result and release/restock give back exactly what was taken.
CREATE TABLE reservation_lines (
  order_id CHAR(36) NOT NULL,
  product_id CHAR(36) NOT NULL,
  line_no SMALLINT NOT NULL,
  quantity INT NOT NULL,
  unit_price INT NOT NULL,
  regular_price INT NOT NULL,
  sale_event_id CHAR(36) NULL,
  PRIMARY KEY (order_id, product_id),
  KEY reservation_lines_product_idx (product_id)
) ENGINE=InnoDB;
