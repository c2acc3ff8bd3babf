-- Sale events as inventory knows them, from the events subgraph's `sale.started` / `sale.ended`
-- messages. Inventory prices sale lines and counts sale units here, in the same transaction that
-- holds the product row FOR UPDATE: every writer of a sale row (reservations, releases, the
-- message consumer) locks its product row first, so the counters need no lock of their own and
-- can never be raced past `quantity` or `per_user_limit`.
-- A row exists from the first message about an event; an `ENDED`/`CANCELLED` row that was never
-- LIVE is a tombstone for a `sale.ended` that overtook its `sale.started` (which is then ignored).
CREATE TABLE sales (
  event_id CHAR(36) NOT NULL PRIMARY KEY,
  product_id CHAR(36) NOT NULL,
  sale_price INT NOT NULL,
  quantity INT NOT NULL,
  per_user_limit INT NOT NULL,
  starts_at DATETIME(3) NOT NULL,
  ends_at DATETIME(3) NOT NULL,
  status ENUM('LIVE', 'ENDED', 'CANCELLED') NOT NULL,
  -- Sale units held by orders right now (reserved and not given back).
  sold INT NOT NULL DEFAULT 0,
  updated_at DATETIME(3) NOT NULL,
  CONSTRAINT sales_sold_range CHECK (sold >= 0 AND sold <= quantity),
  KEY sales_product_status_idx (product_id, status)
) ENGINE=InnoDB;

-- Sale units each member holds per event, for the per-member limit.
CREATE TABLE sale_purchases (
  event_id CHAR(36) NOT NULL,
  user_id CHAR(36) NOT NULL,
  units INT NOT NULL,
  PRIMARY KEY (event_id, user_id),
  CONSTRAINT sale_purchases_units_non_negative CHECK (units >= 0)
) ENGINE=InnoDB;
