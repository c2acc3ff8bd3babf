-- The outbox and inbox tables come from platform (`messagingMigration`, applied before this file).
--
-- Sale events. Times are UTC (DATETIME carries no zone). The window is half-open:
-- live while starts_at <= now < ends_at. `status` only moves forward (see README), and every move
-- is a conditional UPDATE on the expected current status, so two scheduler instances (or the
-- scheduler and an admin) can never both make the same transition.
CREATE TABLE sale_events (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  product_id CHAR(36) NOT NULL,
  sale_price INT NOT NULL,
  quantity INT NOT NULL,
  per_user_limit INT NOT NULL,
  starts_at DATETIME(3) NOT NULL,
  ends_at DATETIME(3) NOT NULL,
  status ENUM('SCHEDULED', 'LIVE', 'ENDED', 'CANCELLED') NOT NULL,
  opened_at DATETIME(3) NULL,
  closed_at DATETIME(3) NULL,
  -- Set once, from products' `sale.sold_out`: when the sale units first ran out.
  sold_out_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  CONSTRAINT sale_events_window CHECK (ends_at > starts_at),
  CONSTRAINT sale_events_price CHECK (sale_price >= 0),
  CONSTRAINT sale_events_quantity CHECK (quantity >= 1),
  CONSTRAINT sale_events_limit CHECK (per_user_limit >= 1),
  -- The scheduler's two questions: which scheduled events are due to open, which live ones to close.
  KEY sale_events_status_starts_idx (status, starts_at),
  KEY sale_events_status_ends_idx (status, ends_at),
  -- Overlap check and Product.activeSale.
  KEY sale_events_product_idx (product_id, status),
  -- The public listing (keyset pagination on starts_at, id).
  KEY sale_events_listing_idx (starts_at, id)
) ENGINE=InnoDB;

-- One row per product that ever had an event. Creating or rescheduling an event takes its
-- product's row exclusively (INSERT … ON DUPLICATE KEY UPDATE creates and locks it in one
-- statement) before checking for overlaps, so two admins scheduling the same product at once are
-- serialised and the second one sees the first one's event (no phantom overlap). A plain
-- INSERT IGNORE + SELECT … FOR UPDATE would take a shared lock first and deadlock three racers.
CREATE TABLE sale_event_product_locks (
  product_id CHAR(36) NOT NULL PRIMARY KEY
) ENGINE=InnoDB;
