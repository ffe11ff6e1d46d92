-- Photos of listings. The bytes live in photo_blobs, named by their SHA-256, so the same
-- picture uploaded twice (or to two listings) is stored once; item_photos says which
-- listing shows which picture, where in its order (0 is the cover), at which sizes, and
-- with which description. storage::photo_blobs is the one module that reads and writes
-- photo_blobs, so an object store could take its place.
CREATE TABLE photo_blobs (
    sha256     bytea       PRIMARY KEY CHECK (length(sha256) = 32),
    media_type text        NOT NULL CHECK (media_type = 'image/jpeg'),
    bytes      bytea       NOT NULL CHECK (length(bytes) BETWEEN 1 AND 4194304),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Stored bytes are never compressed again (JPEG) and are read whole.
ALTER TABLE photo_blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;

-- A listing has at most 8 photos (positions 0 to 7, each taken once: two uploads racing
-- for the last place cannot both have it). The uniqueness is checked at the end of each
-- statement, so one UPDATE can reorder a listing's photos.
CREATE TABLE item_photos (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id          bigint   NOT NULL REFERENCES items (id),
    position         smallint NOT NULL CHECK (position BETWEEN 0 AND 7),
    display_sha256   bytea    NOT NULL REFERENCES photo_blobs (sha256),
    display_width    integer  NOT NULL CHECK (display_width BETWEEN 1 AND 1600),
    display_height   integer  NOT NULL CHECK (display_height BETWEEN 1 AND 1600),
    thumb_sha256     bytea    NOT NULL REFERENCES photo_blobs (sha256),
    thumb_width      integer  NOT NULL CHECK (thumb_width BETWEEN 1 AND 400),
    thumb_height     integer  NOT NULL CHECK (thumb_height BETWEEN 1 AND 300),
    description      text     NOT NULL DEFAULT ''
                              CHECK (char_length(description) <= 200),
    added_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT item_photos_one_per_position UNIQUE (item_id, position)
        DEFERRABLE INITIALLY IMMEDIATE
);
-- Whether a blob is still shown anywhere, when a photo is removed.
CREATE INDEX item_photos_display_sha256 ON item_photos (display_sha256);
CREATE INDEX item_photos_thumb_sha256 ON item_photos (thumb_sha256);

-- The app reads, adds and removes photos and blobs; it never changes a blob's bytes.
GRANT SELECT, INSERT, DELETE ON photo_blobs TO market_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON item_photos TO market_app;
