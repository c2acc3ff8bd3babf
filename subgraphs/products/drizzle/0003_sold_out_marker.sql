-- 1 once a sold-out marker may have been set in Redis for this product (src/sold-out-marker.ts).
-- A transaction that puts stock back reads it under the row lock: only then must it delete the
-- marker (and fail if it cannot) before it commits, so restocking a product that was never
-- marked never depends on Redis.
ALTER TABLE products ADD COLUMN sold_out_marked TINYINT(1) NOT NULL DEFAULT 0;
