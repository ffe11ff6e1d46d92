-- Cut off any statement of the app that runs longer than 5 seconds (lock waits
-- included): the app answers 503 instead of hanging. Set on the database, so it is the
-- default of every new session and survives the RESET ALL Spin's pool runs on checkout.
-- A migration that needs longer can SET LOCAL statement_timeout in its own transaction.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), '5s');
END
$$;
