-- The revocation cache is rebuilt from the sessions revoked within the last access-token
-- lifetime (on start and after every Redis reconnect): a range over revoked_at, not a table scan.
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at);
