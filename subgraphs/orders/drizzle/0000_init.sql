CREATE TABLE orders (
  id CHAR(36) NOT NULL PRIMARY KEY,
  user_id CHAR(36) NOT NULL,
  idempotency_key VARCHAR(100) NOT NULL,
  idempotency_claim VARCHAR(100) NULL,
  request_hash CHAR(64) NOT NULL,
  status ENUM('PENDING', 'AWAITING_PAYMENT', 'PAID', 'SHIPPING', 'DELIVERED', 'RETURN_REQUESTED', 'RETURNED', 'CANCELLING', 'CANCELLED', 'EXPIRED', 'REJECTED', 'FAILED') NOT NULL,
  total_amount BIGINT NULL,
  shipping_enc VARCHAR(1024) NOT NULL,
  rejection VARCHAR(500) NULL,
  payment_due_at DATETIME(3) NULL,
  paid_at DATETIME(3) NULL,
  delivered_at DATETIME(3) NULL,
  return_reason ENUM('JUST_CANCEL', 'UNLIKE', 'SIDE_EFFECT', 'MISS_ORDER', 'SHIPPING_DELAY') NULL,
  return_requested_at DATETIME(3) NULL,
  status_changed_at DATETIME(3) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY orders_user_idempotency_unique (user_id, idempotency_claim),
  KEY orders_user_created_idx (user_id, created_at, id),
  KEY orders_user_status_created_idx (user_id, status, created_at, id),
  KEY orders_status_changed_idx (status, status_changed_at),
  KEY orders_status_due_idx (status, payment_due_at)
) ENGINE=InnoDB;

CREATE TABLE order_lines (
  order_id CHAR(36) NOT NULL,
  product_id CHAR(36) NOT NULL,
  position SMALLINT NOT NULL,
  quantity INT NOT NULL,
  unit_price BIGINT NULL,
  regular_price BIGINT NULL,
  sale_event_id VARCHAR(36) NULL,
  PRIMARY KEY (order_id, product_id)
) ENGINE=InnoDB;

CREATE TABLE order_events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id CHAR(36) NOT NULL,
  status ENUM('PENDING', 'AWAITING_PAYMENT', 'PAID', 'SHIPPING', 'DELIVERED', 'RETURN_REQUESTED', 'RETURNED', 'CANCELLING', 'CANCELLED', 'EXPIRED', 'REJECTED', 'FAILED') NOT NULL,
  at DATETIME(3) NOT NULL,
  KEY order_events_order_idx (order_id, id)
) ENGINE=InnoDB;

CREATE TABLE payments (
  id CHAR(36) NOT NULL PRIMARY KEY,
  order_id VARCHAR(36) NOT NULL,
  user_id CHAR(36) NOT NULL,
  idempotency_key VARCHAR(100) NOT NULL,
  method ENUM('CARD', 'VIRTUAL_ACCOUNT', 'TRANSFER', 'MOBILE') NOT NULL,
  amount BIGINT NOT NULL,
  status ENUM('PENDING', 'SUCCEEDED', 'DECLINED') NOT NULL,
  active_order_id VARCHAR(36) AS (CASE WHEN status IN ('PENDING', 'SUCCEEDED') THEN order_id END) STORED,
  decline_reason VARCHAR(200) NULL,
  provider_ref VARCHAR(100) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY payments_order_key_unique (order_id, idempotency_key),
  UNIQUE KEY payments_active_order_unique (active_order_id),
  KEY payments_status_created_idx (status, created_at)
) ENGINE=InnoDB;

CREATE TABLE refunds (
  id CHAR(36) NOT NULL PRIMARY KEY,
  order_id CHAR(36) NOT NULL,
  payment_id CHAR(36) NOT NULL,
  amount BIGINT NOT NULL,
  reason ENUM('CANCELLED', 'RETURNED') NOT NULL,
  provider_ref VARCHAR(100) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY refunds_payment_id_unique (payment_id)
) ENGINE=InnoDB;
