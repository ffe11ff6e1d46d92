-- The items people list for sale. The CHECK constraints repeat the rules of the domain
-- types in components/market/src/item.rs, so no path around the app can store a bad row.
CREATE TABLE items (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL
                CHECK (name = btrim(name) AND char_length(name) BETWEEN 1 AND 256),
    quantity    integer     NOT NULL
                CHECK (quantity BETWEEN 0 AND 1000000),
    description text        NOT NULL
                CHECK (description = btrim(description) AND char_length(description) BETWEEN 1 AND 2000),
    date_added  timestamptz NOT NULL DEFAULT now()
);
