-- A buy claims its idempotency key before it knows whether stock is left, reserving the
-- id its purchase would get (components/market/src/db.rs). When the buy takes nothing,
-- the claim stays with that id and no purchase behind it, so a retry with the same key
-- takes nothing either. The reference to purchases can therefore not be a foreign key.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_purchase_id_fkey;
