-- Prices: what one unit costs, in cents of the shop's one currency (the `currency`
-- Spin variable), exact. Items listed before prices existed get 0.00, shown as free:
-- nothing else is known about them, and no seller can be asked from a migration. The
-- default is dropped afterwards, so every new item must say its price.
ALTER TABLE items
    ADD COLUMN price_cents bigint NOT NULL DEFAULT 0
    CHECK (price_cents BETWEEN 0 AND 100000000);
ALTER TABLE items ALTER COLUMN price_cents DROP DEFAULT;

-- Search: the words of name and description, stemmed as English, kept up to date by
-- Postgres and indexed, so a search does not read every row.
ALTER TABLE items
    ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', name || ' ' || description)) STORED;
CREATE INDEX items_search ON items USING gin (search);

-- The default listing hides sold-out items: newest first among those in stock.
CREATE INDEX items_in_stock ON items (id) WHERE quantity > 0;
