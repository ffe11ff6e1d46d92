-- Every purchase, with the stock it left behind, so a replayed request can be answered
-- exactly as the first time.
CREATE TABLE purchases (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id      bigint      NOT NULL REFERENCES items (id),
    quantity     integer     NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
    remaining    integer     NOT NULL CHECK (remaining BETWEEN 0 AND 1000000),
    purchased_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX purchases_item_id ON purchases (item_id);

-- Keys of writes already done: a retried or double-submitted request with the same key
-- finds its first result here instead of writing again. The request it answered is kept
-- to refuse a key reused for a different request.
CREATE TABLE idempotency_keys (
    operation   text        NOT NULL CHECK (operation IN ('create_item', 'buy_item')),
    key         text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request     text        NOT NULL,
    item_id     bigint      REFERENCES items (id),
    purchase_id bigint      REFERENCES purchases (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operation, key)
);
