CREATE TABLE wishlists (
  user_id CHAR(36) NOT NULL PRIMARY KEY,
  created_at DATETIME(3) NOT NULL
) ENGINE=InnoDB;

CREATE TABLE wishlist_items (
  user_id CHAR(36) NOT NULL,
  product_id CHAR(36) NOT NULL,
  quantity INT NOT NULL,
  added_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id, product_id),
  KEY wishlist_items_user_added_idx (user_id, added_at),
  CONSTRAINT wishlist_items_quantity_range CHECK (quantity BETWEEN 1 AND 100)
) ENGINE=InnoDB;

CREATE TABLE wishlist_orders (
  user_id CHAR(36) NOT NULL,
  idempotency_key VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id CHAR(36) NOT NULL,
  order_lines JSON NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (user_id, idempotency_key)
) ENGINE=InnoDB;
