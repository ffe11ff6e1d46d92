-- People: accounts, their sessions and API tokens, who sells each item and who bought
-- each purchase.
--
-- Emails are stored as the app normalises them (trimmed, lower case) and are unique
-- whatever their case: the unique index on lower(email) is the rule, so two sign-ups
-- racing for one address cannot both win. A password is stored only as its Argon2id
-- hash (a PHC string with its own salt and parameters).
CREATE TABLE accounts (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    display_name  text        NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 64),
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));

-- A signed-in browser. The cookie holds a random id; only its SHA-256 is stored, so a
-- copy of this table signs nobody in. A session ends when idle too long or too old
-- (components/market/src/domain/account.rs), or when signed out.
CREATE TABLE sessions (
    token_hash   text        PRIMARY KEY CHECK (char_length(token_hash) = 64),
    account_id   bigint      NOT NULL REFERENCES accounts (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_account_id ON sessions (account_id);
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);

-- Personal access tokens for the API, shown once and stored as their SHA-256. A revoked
-- token stays listed (with when it was revoked) and authenticates nothing.
CREATE TABLE api_tokens (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES accounts (id),
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    token_hash   text        NOT NULL UNIQUE CHECK (char_length(token_hash) = 64),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_account_id ON api_tokens (account_id, id);

-- Failed sign-ins per email address (whether or not an account has it, so the delay
-- says nothing about which addresses have accounts): each failure past the first few
-- makes the next attempt wait longer, up to a cap, and a success clears it. No attacker
-- can lock an account for longer than the cap.
CREATE TABLE sign_in_failures (
    email          text        PRIMARY KEY CHECK (char_length(email) BETWEEN 1 AND 254),
    failures       integer     NOT NULL CHECK (failures >= 1),
    blocked_until  timestamptz NOT NULL,
    last_failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_last_failed_at ON sign_in_failures (last_failed_at);

-- Items listed before accounts existed have no seller (NULL): they stay listed and
-- buyable, and no one can change or withdraw them, since no one can be shown to be
-- their seller. Every new item names its seller (the app requires an account to sell).
ALTER TABLE items ADD COLUMN seller_id bigint REFERENCES accounts (id);
-- A withdrawn item is off the listing and the search, and cannot be bought; its page
-- and its buyers' purchases still show it.
ALTER TABLE items ADD COLUMN withdrawn_at timestamptz;
DROP INDEX items_in_stock;
CREATE INDEX items_for_sale ON items (id) WHERE quantity > 0 AND withdrawn_at IS NULL;
CREATE INDEX items_seller_id ON items (seller_id, id) WHERE seller_id IS NOT NULL;

-- Purchases made before accounts existed have no buyer and no recorded price (NULL).
ALTER TABLE purchases ADD COLUMN buyer_id bigint REFERENCES accounts (id);
ALTER TABLE purchases
    ADD COLUMN price_cents bigint CHECK (price_cents BETWEEN 0 AND 100000000);
CREATE INDEX purchases_buyer_id ON purchases (buyer_id, id) WHERE buyer_id IS NOT NULL;

GRANT SELECT, INSERT ON accounts TO market_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, sign_in_failures TO market_app;
GRANT SELECT, INSERT, UPDATE ON api_tokens TO market_app;
GRANT USAGE ON SEQUENCE accounts_id_seq, api_tokens_id_seq TO market_app;
