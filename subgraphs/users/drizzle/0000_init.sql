CREATE TABLE users (
  id CHAR(36) NOT NULL PRIMARY KEY,
  email_index CHAR(64) NOT NULL,
  email_enc VARCHAR(512) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  name_enc VARCHAR(512) NOT NULL,
  nickname VARCHAR(30) NOT NULL,
  phone_enc VARCHAR(512) NOT NULL,
  postal_code_enc VARCHAR(512) NOT NULL,
  address_enc VARCHAR(1024) NOT NULL,
  role ENUM('USER', 'ADMIN') NOT NULL DEFAULT 'USER',
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY users_email_index_unique (email_index)
) ENGINE=InnoDB;

CREATE TABLE sessions (
  id CHAR(36) NOT NULL PRIMARY KEY,
  user_id CHAR(36) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  revoked_at DATETIME(3) NULL,
  KEY sessions_user_idx (user_id)
) ENGINE=InnoDB;

CREATE TABLE refresh_tokens (
  id CHAR(36) NOT NULL PRIMARY KEY,
  session_id CHAR(36) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  used_at DATETIME(3) NULL,
  KEY refresh_tokens_session_idx (session_id)
) ENGINE=InnoDB;
