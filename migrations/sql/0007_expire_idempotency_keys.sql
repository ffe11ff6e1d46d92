-- Idempotency keys answer replays for 24 hours (components/market/src/db.rs,
-- KEY_LIFETIME). After that a request with the same key is new, and every write removes
-- a few expired keys as it goes: the app's role may delete from this table, and only
-- this one; the index finds the expired rows without reading the table.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
GRANT DELETE ON idempotency_keys TO market_app;
