-- Trading between two people: every purchase is an order that moves from placed to
-- shipped to received (or is cancelled before shipping), the buyer and the seller talk in
-- conversations, review each other once an order is received, and are told of what
-- happened by notices. The rules are the database's: each transition is one conditional
-- statement from its state by its party; one conversation per listing and asker; one
-- review per party per order; nobody writes to a conversation they are not in.

-- Orders: the purchase row, with its state and when each state was reached (each is
-- reached at most once, so these times are its history). A shipped order counts as
-- received 14 days after shipping (storage::orders computes it).
ALTER TABLE purchases
    ADD COLUMN seller_id bigint REFERENCES accounts (id),
    ADD COLUMN state text NOT NULL DEFAULT 'placed'
        CHECK (state IN ('placed', 'shipped', 'received', 'cancelled')),
    ADD COLUMN shipped_at timestamptz,
    ADD COLUMN ship_note text CHECK (char_length(ship_note) <= 200),
    ADD COLUMN received_at timestamptz,
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN cancelled_by bigint REFERENCES accounts (id),
    ADD CONSTRAINT purchases_state_times CHECK (
        (state = 'placed' AND shipped_at IS NULL AND received_at IS NULL AND cancelled_at IS NULL)
        OR (state = 'shipped' AND shipped_at IS NOT NULL AND received_at IS NULL AND cancelled_at IS NULL)
        OR (state = 'received' AND shipped_at IS NOT NULL AND received_at IS NOT NULL AND cancelled_at IS NULL)
        OR (state = 'cancelled' AND shipped_at IS NULL AND received_at IS NULL AND cancelled_at IS NOT NULL)),
    ADD CONSTRAINT purchases_not_ones_own CHECK (buyer_id IS DISTINCT FROM seller_id OR buyer_id IS NULL);
UPDATE purchases SET seller_id = items.seller_id
FROM items WHERE items.id = purchases.item_id AND items.seller_id IS DISTINCT FROM purchases.buyer_id;
CREATE INDEX purchases_seller_id ON purchases (seller_id, id) WHERE seller_id IS NOT NULL;

-- Conversations about a listing: one per listing and asker, never with oneself.
CREATE TABLE conversations (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id         bigint      NOT NULL REFERENCES items (id),
    asker_id        bigint      NOT NULL REFERENCES accounts (id),
    seller_id       bigint      NOT NULL REFERENCES accounts (id),
    started_at      timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_one_per_listing_and_asker UNIQUE (item_id, asker_id),
    CONSTRAINT conversations_not_with_oneself CHECK (asker_id <> seller_id)
);
CREATE INDEX conversations_asker ON conversations (asker_id, last_message_at DESC);
CREATE INDEX conversations_seller ON conversations (seller_id, last_message_at DESC);

-- Plain text, 1 to 2,000 characters, written by one of the conversation's two people
-- (the statements that add a message check it).
CREATE TABLE messages (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint      NOT NULL REFERENCES conversations (id),
    author_id       bigint      NOT NULL REFERENCES accounts (id),
    body            text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000),
    sent_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
-- Sending is rate-limited per person: their messages of the last minute are counted.
CREATE INDEX messages_author_sent_at ON messages (author_id, sent_at);

-- How far each of the two people has read a conversation.
CREATE TABLE conversation_reads (
    conversation_id bigint NOT NULL REFERENCES conversations (id),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    read_up_to      bigint NOT NULL,
    PRIMARY KEY (conversation_id, account_id)
);

-- Reviews: once an order is received, each party reviews the other once. A review is
-- visible when both have written theirs, or 14 days after receipt (storage::reviews);
-- nothing changes a review once written.
CREATE TABLE reviews (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     bigint      NOT NULL REFERENCES purchases (id),
    author_id    bigint      NOT NULL REFERENCES accounts (id),
    subject_id   bigint      NOT NULL REFERENCES accounts (id),
    -- What the reviewed person was in the trade.
    subject_role text        NOT NULL CHECK (subject_role IN ('seller', 'buyer')),
    rating       smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body         text        NOT NULL DEFAULT '' CHECK (char_length(body) <= 1000),
    written_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reviews_one_per_party_and_order UNIQUE (order_id, author_id),
    CONSTRAINT reviews_not_of_oneself CHECK (author_id <> subject_id)
);
CREATE INDEX reviews_subject ON reviews (subject_id, subject_role, id DESC);

-- In-app notices: a new message, an order to ship, a shipped order, a new review. Shown
-- until seen; the data an email sender could read.
CREATE TABLE notices (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint      NOT NULL REFERENCES accounts (id),
    kind            text        NOT NULL
                    CHECK (kind IN ('message', 'order_to_ship', 'order_shipped', 'review')),
    order_id        bigint      REFERENCES purchases (id),
    conversation_id bigint      REFERENCES conversations (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    seen_at         timestamptz,
    CHECK ((kind = 'message') = (conversation_id IS NOT NULL)),
    CHECK ((kind <> 'message') = (order_id IS NOT NULL))
);
CREATE INDEX notices_unseen ON notices (account_id, id DESC) WHERE seen_at IS NULL;

-- Display names and passwords change from the account page.
GRANT UPDATE (display_name, password_hash) ON accounts TO market_app;
GRANT UPDATE (seller_id, state, shipped_at, ship_note, received_at, cancelled_at, cancelled_by)
    ON purchases TO market_app;
GRANT SELECT, INSERT, UPDATE ON conversations TO market_app;
GRANT SELECT, INSERT ON messages, reviews TO market_app;
GRANT SELECT, INSERT, UPDATE ON conversation_reads, notices TO market_app;
