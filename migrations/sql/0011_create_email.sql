-- Email. Every email is first a row of the outbox, written in the same transaction as
-- the event that causes it (a sign-up, a reset request, a sale, a shipment, a message,
-- a review): no email is lost, and none goes out for a write that rolled back. The
-- sender (mailer/) renders each row from the data it names and delivers it over SMTP,
-- as its own role, market_mailer, which may read what an email tells and mark rows.

-- An address is verified by a single-use link sent at sign-up. Accounts made before
-- email existed count as verified: no link was ever sent to them.
ALTER TABLE accounts ADD COLUMN email_verified_at timestamptz;
UPDATE accounts SET email_verified_at = created_at;

-- Single-use links: address verification (valid 24 h) and password reset (1 h). Only
-- the SHA-256 of a link's token is kept here; the raw token is in its outbox row until
-- the sender has delivered it or given up, and then erased.
CREATE TABLE email_links (
    token_hash text        PRIMARY KEY CHECK (char_length(token_hash) = 64),
    account_id bigint      NOT NULL REFERENCES accounts (id),
    purpose    text        NOT NULL CHECK (purpose IN ('verify', 'reset')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_links_open ON email_links (account_id, purpose) WHERE used_at IS NULL;

-- Requests for a link, counted for their rate limits: a reset per address and per
-- client, a new verification link per account. Rows older than a day are deleted as new
-- ones come.
CREATE TABLE email_link_requests (
    scope        text        NOT NULL CHECK (scope IN ('address', 'client', 'account')),
    key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 254),
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_link_requests_key ON email_link_requests (scope, key, requested_at);

-- Which notices each person gets by email (all, until they say otherwise), and the key
-- of their one-click unsubscribe links: it turns notices off, nothing else, so it is
-- kept as it is mailed.
CREATE TABLE email_settings (
    account_id      bigint  PRIMARY KEY REFERENCES accounts (id),
    unsubscribe_key text    NOT NULL UNIQUE
                    DEFAULT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
    sold            boolean NOT NULL DEFAULT true,
    shipped         boolean NOT NULL DEFAULT true,
    message         boolean NOT NULL DEFAULT true,
    review          boolean NOT NULL DEFAULT true
);
INSERT INTO email_settings (account_id) SELECT id FROM accounts;
CREATE FUNCTION email_settings_for_new_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO email_settings (account_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER accounts_email_settings AFTER INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION email_settings_for_new_account();

-- The outbox. `kind` says what the email tells; the row names the data (the order or
-- the conversation), which the sender reads when it renders. A row is due from
-- next_attempt_at until it is sent or given up; the sender claims one row at a time
-- with FOR UPDATE SKIP LOCKED, so two senders never send the same row.
CREATE TABLE outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint      NOT NULL REFERENCES accounts (id),
    kind            text        NOT NULL
                    CHECK (kind IN ('verify', 'reset', 'sold', 'shipped', 'message', 'review')),
    link_token      text        CHECK (char_length(link_token) = 64),
    order_id        bigint      REFERENCES purchases (id),
    conversation_id bigint      REFERENCES conversations (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text        CHECK (char_length(last_error) <= 500),
    sent_at         timestamptz,
    gave_up_at      timestamptz,
    CHECK (sent_at IS NULL OR gave_up_at IS NULL),
    -- A link's token is kept only while the row is due.
    CHECK ((kind IN ('verify', 'reset') AND sent_at IS NULL AND gave_up_at IS NULL)
           = (link_token IS NOT NULL)),
    CHECK ((kind IN ('sold', 'shipped', 'review')) = (order_id IS NOT NULL)),
    CHECK ((kind = 'message') = (conversation_id IS NOT NULL))
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX outbox_messages ON outbox (conversation_id, account_id, created_at) WHERE kind = 'message';

-- A notice becomes an email in the same transaction, to a verified address, if the
-- person wants that kind; a new message at most once per conversation and person per
-- 15 minutes, however many messages come.
CREATE FUNCTION email_for_notice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    email_kind text := CASE NEW.kind
        WHEN 'order_to_ship' THEN 'sold'
        WHEN 'order_shipped' THEN 'shipped'
        ELSE NEW.kind END;
    wanted boolean;
BEGIN
    SELECT CASE email_kind
               WHEN 'sold' THEN s.sold
               WHEN 'shipped' THEN s.shipped
               WHEN 'message' THEN s.message
               ELSE s.review END
      INTO wanted
      FROM email_settings s JOIN accounts a ON a.id = s.account_id
     WHERE s.account_id = NEW.account_id AND a.email_verified_at IS NOT NULL;
    IF NOT coalesce(wanted, false) THEN
        RETURN NULL;
    END IF;
    IF email_kind = 'message' AND EXISTS (
        SELECT 1 FROM outbox
         WHERE kind = 'message' AND conversation_id = NEW.conversation_id
           AND account_id = NEW.account_id AND created_at > now() - interval '15 minutes') THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox (account_id, kind, order_id, conversation_id)
    VALUES (NEW.account_id, email_kind, NEW.order_id, NEW.conversation_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER notices_email AFTER INSERT ON notices
    FOR EACH ROW EXECUTE FUNCTION email_for_notice();

GRANT UPDATE (email_verified_at) ON accounts TO market_app;
GRANT SELECT, INSERT, UPDATE ON email_links TO market_app;
GRANT SELECT, INSERT, DELETE ON email_link_requests TO market_app;
GRANT SELECT, INSERT, UPDATE (sold, shipped, message, review) ON email_settings TO market_app;
GRANT SELECT, INSERT ON outbox TO market_app;
GRANT USAGE ON SEQUENCE outbox_id_seq TO market_app;

-- The sender's role: reads the outbox and what its emails tell, marks rows sent or
-- given up (and erases their tokens). It cannot write anything else. The migration
-- runner sets its password (MAILER_PASSWORD_FILE).
DO $$
BEGIN
    CREATE ROLE market_mailer LOGIN;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
ALTER ROLE market_mailer CONNECTION LIMIT 10;
ALTER ROLE market_mailer SET statement_timeout = '5s';
-- A row stays locked while its email is handed to the relay (30 s at most).
ALTER ROLE market_mailer SET idle_in_transaction_session_timeout = '60s';
GRANT USAGE ON SCHEMA public TO market_mailer;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO market_mailer', current_database());
END
$$;
GRANT SELECT ON outbox TO market_mailer;
GRANT UPDATE (attempts, next_attempt_at, last_error, sent_at, gave_up_at, link_token)
    ON outbox TO market_mailer;
GRANT SELECT (id, email, display_name, email_verified_at) ON accounts TO market_mailer;
GRANT SELECT ON email_settings, purchases, items, conversations, messages TO market_mailer;
GRANT SELECT (id, order_id, author_id, subject_id) ON reviews TO market_mailer;
GRANT SELECT ON schema_migrations TO market_mailer;
