-- The role the app connects as, with only what it uses: read and write the three tables
-- it touches, draw ids, read the schema version. Not a superuser, no CREATE anywhere, no
-- membership in pg_read_server_files or pg_execute_server_program: a flaw in the app or a
-- leaked connection string reaches these rows, not the server. The migration runner sets
-- its password (APP_PASSWORD_FILE); roles are shared by every database of the server, so
-- it is created only once.
--
-- CONNECTION LIMIT is the app's connection budget: each Spin instance pools up to 64
-- connections per component (3 components), with no cap in Spin 4.0.x. Beyond 200 the
-- server refuses a new connection and the app answers 503 with Retry-After; compose's
-- max_connections (220) leaves room above it for the runner and an operator.
DO $$
BEGIN
    CREATE ROLE market_app LOGIN;
EXCEPTION
    -- Already there, or created by a runner migrating another database meanwhile.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
-- A new role has none of SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS; they
-- are not named here because PostgreSQL 16 and later refuse even "NO..." from an owner
-- that is not a superuser (CloudNativePG's, in deploy/kubernetes).
ALTER ROLE market_app CONNECTION LIMIT 200;
ALTER ROLE market_app SET statement_timeout = '5s';

-- PostgreSQL 15 and later no longer let every role create in the public schema; older
-- servers do, so say it here.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO market_app;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO market_app', current_database());
END
$$;
GRANT SELECT, INSERT, UPDATE ON items, purchases, idempotency_keys TO market_app;
GRANT SELECT ON schema_migrations TO market_app;
GRANT USAGE ON SEQUENCE items_id_seq, purchases_id_seq TO market_app;
