-- Inventory learns a sale when it is scheduled (`sale.scheduled` / `sale.updated`), not only when
-- it opens, and decides "live" by the clock: a SCHEDULED or LIVE sale is live inside
-- [starts_at, ends_at). So the sale opens and closes on time even when the broker is down at
-- that moment; `sale.started` / `sale.ended` only confirm (or cancel) what the clock already says.
ALTER TABLE sales
  MODIFY status ENUM('SCHEDULED', 'LIVE', 'ENDED', 'CANCELLED') NOT NULL,
  -- The events subgraph's version of the terms (its row's updated_at, epoch ms): an older
  -- `sale.updated` arriving after a newer one never rolls the terms back.
  ADD COLUMN revision BIGINT NOT NULL DEFAULT 0,
  -- The next sale start or end of all open sales (how long an onSale listing page may be cached).
  ADD KEY sales_status_ends_idx (status, ends_at);

-- The sale shown on a product is now derived from `sales` at read time (price by the clock), so
-- the copy on the product row, which only a message could change, goes. What stays is the end of
-- the product's last open (scheduled or live) sale: a reservation reads the sale rows only while
-- it lies ahead, so an ordinary order of a product without sales costs no extra statement.
ALTER TABLE products
  DROP COLUMN sale_event_id,
  DROP COLUMN sale_price,
  DROP COLUMN sale_ends_at,
  ADD COLUMN sales_until DATETIME(3) NULL;
UPDATE products p SET sales_until = (SELECT MAX(s.ends_at) FROM sales s WHERE s.product_id = p.id AND s.status IN ('SCHEDULED', 'LIVE'));
