//! Which listing shows which photo, in which order, with which description: the
//! statements of `item_photos` (migrations/sql/0009). The rules are the database's: a
//! listing's photos take positions 0–7 once each (two uploads racing for the last place
//! cannot both have it), only its seller's statements match, and a reorder is one
//! statement, checked whole.

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::account::AccountId;
use crate::domain::error::AppError;
use crate::domain::item::ItemId;
use crate::domain::photo::{Digest, MAX_PHOTOS_PER_ITEM, PhotoId};
use crate::domain::photo_image::Processed;
use crate::storage::{db, pg_errors, rows, sql};

/// Whether a listing can take another photo, as its seller's statement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    /// Its seller may add one; it has this many.
    Free(usize),
    /// It has [`MAX_PHOTOS_PER_ITEM`].
    Full,
    /// Its seller withdrew it.
    Withdrawn,
    /// No item with this id is the account's.
    NotTheirs,
}

/// How much room `item` of `seller` has for photos.
pub fn room(conn: &Connection, seller: AccountId, item: ItemId) -> Result<Room, AppError> {
    let rows = db::query(
        conn,
        "SELECT (SELECT withdrawn_at IS NOT NULL FROM items \
                 WHERE id = $1::bigint AND seller_id = $2::bigint) AS withdrawn, \
                (SELECT count(*) FROM item_photos WHERE item_id = $1::bigint) AS photos",
        &[
            ParameterValue::Int64(item.get()),
            ParameterValue::Int64(seller.get()),
        ],
    )?;
    let row = rows::single(&rows, "photo room")?;
    let photos = row.int64("photos")? as usize;
    Ok(match row.optional_boolean("withdrawn")? {
        None => Room::NotTheirs,
        Some(true) => Room::Withdrawn,
        Some(false) if photos >= MAX_PHOTOS_PER_ITEM => Room::Full,
        Some(false) => Room::Free(photos),
    })
}

/// Adds `processed` (its bytes already stored) as the last photo of `item`, if `seller`
/// sells it, it is not withdrawn and has room: the new photo's id, or why not. Two
/// uploads racing for one place: the loser's statement breaks the position's uniqueness
/// and is run again, and sees the winner's photo.
pub fn add(
    conn: &Connection,
    seller: AccountId,
    item: ItemId,
    processed: &Processed,
    description: &str,
) -> Result<Result<PhotoId, Room>, AppError> {
    const ADD: &str = "WITH item AS (
            SELECT id, withdrawn_at IS NOT NULL AS withdrawn FROM items
            WHERE id = $1::bigint AND seller_id = $2::bigint),
        taken AS (SELECT count(*) AS photos FROM item_photos WHERE item_id = $1::bigint),
        added AS (
            INSERT INTO item_photos (item_id, position, display_sha256, display_width,
                display_height, thumb_sha256, thumb_width, thumb_height, description)
            SELECT item.id, taken.photos, decode($3::text, 'hex'), $4::integer, $5::integer,
                decode($6::text, 'hex'), $7::integer, $8::integer, $9::text
            FROM item, taken
            WHERE NOT item.withdrawn AND taken.photos < $10::bigint
            RETURNING id)
        SELECT (SELECT withdrawn FROM item) AS withdrawn, (SELECT photos FROM taken) AS photos,
               (SELECT id FROM added) AS id";
    let (display, thumbnail) = (&processed.display.rendition, &processed.thumbnail.rendition);
    let params = [
        ParameterValue::Int64(item.get()),
        ParameterValue::Int64(seller.get()),
        ParameterValue::Str(display.digest.as_str().to_owned()),
        ParameterValue::Int32(display.width as i32),
        ParameterValue::Int32(display.height as i32),
        ParameterValue::Str(thumbnail.digest.as_str().to_owned()),
        ParameterValue::Int32(thumbnail.width as i32),
        ParameterValue::Int32(thumbnail.height as i32),
        ParameterValue::Str(description.to_owned()),
        ParameterValue::Int64(MAX_PHOTOS_PER_ITEM as i64),
    ];
    let mut attempts = 0;
    let rows = loop {
        attempts += 1;
        match db::try_query(conn, ADD, &params) {
            Err(error) if attempts < 4 && pg_errors::is_unique_violation(&error) => continue,
            other => break other.map_err(|error| AppError::from(*error))?,
        }
    };
    let row = rows::single(&rows, "add photo")?;
    if let Some(id) = row.optional_int64("id")? {
        return Ok(Ok(PhotoId(id)));
    }
    Ok(Err(match row.optional_boolean("withdrawn")? {
        None => Room::NotTheirs,
        Some(true) => Room::Withdrawn,
        Some(false) => Room::Full,
    }))
}

/// Removes photo `photo` of `item` if `seller` sells it, closing the gap it leaves in
/// the order, in one statement: the digests it showed (to forget the bytes no other
/// photo shows), or none when there was no such photo of theirs.
pub fn remove(
    conn: &Connection,
    seller: AccountId,
    item: ItemId,
    photo: PhotoId,
) -> Result<Option<Vec<Digest>>, AppError> {
    const REMOVE: &str = "WITH gone AS (
            DELETE FROM item_photos AS photo USING items AS item
            WHERE photo.id = $3::bigint AND photo.item_id = $1::bigint
              AND item.id = photo.item_id AND item.seller_id = $2::bigint
            RETURNING photo.position, encode(photo.display_sha256, 'hex') AS display,
                      encode(photo.thumb_sha256, 'hex') AS thumb),
        closed AS (
            UPDATE item_photos SET position = position - 1
            WHERE item_id = $1::bigint AND position > (SELECT position FROM gone)
            RETURNING id)
        SELECT (SELECT display FROM gone) AS display, (SELECT thumb FROM gone) AS thumb,
               (SELECT count(*) FROM closed) AS moved";
    let rows = db::query(
        conn,
        REMOVE,
        &[
            ParameterValue::Int64(item.get()),
            ParameterValue::Int64(seller.get()),
            ParameterValue::Int64(photo.0),
        ],
    )?;
    let row = rows::single(&rows, "remove photo")?;
    let digests = [row.optional_text("display")?, row.optional_text("thumb")?];
    if digests.iter().all(Option::is_none) {
        return Ok(None);
    }
    Ok(Some(
        digests
            .into_iter()
            .flatten()
            .filter_map(Digest::parse)
            .collect(),
    ))
}

/// Where an arranged photo goes: to a position (0 is the cover), or a step from where
/// it is; either clamped to the listing's photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    At(i32),
    Step(i32),
}

/// Moves photo `photo` of `item` to `place` (the others shift to make room) and, when
/// given, sets its description, if `seller` sells it: whether there was such a photo.
pub fn arrange(
    conn: &Connection,
    seller: AccountId,
    item: ItemId,
    photo: PhotoId,
    place: Place,
    description: Option<&str>,
) -> Result<bool, AppError> {
    const ARRANGE: &str = "WITH moving AS (
            SELECT photo.position AS from_position FROM item_photos AS photo
            JOIN items AS item ON item.id = photo.item_id AND item.seller_id = $2::bigint
            WHERE photo.id = $3::bigint AND photo.item_id = $1::bigint),
        target AS (
            SELECT greatest(0, least(
                coalesce($4::integer, moving.from_position + $5::integer),
                (SELECT count(*) FROM item_photos WHERE item_id = $1::bigint) - 1)) AS to_position,
                moving.from_position
            FROM moving),
        moved AS (
            UPDATE item_photos AS photo SET
                position = CASE
                    WHEN photo.id = $3::bigint THEN target.to_position
                    WHEN target.from_position < target.to_position
                         AND photo.position > target.from_position
                         AND photo.position <= target.to_position THEN photo.position - 1
                    WHEN target.from_position > target.to_position
                         AND photo.position >= target.to_position
                         AND photo.position < target.from_position THEN photo.position + 1
                    ELSE photo.position END,
                description = CASE WHEN photo.id = $3::bigint AND $6::text IS NOT NULL
                                   THEN $6::text ELSE photo.description END
            FROM target WHERE photo.item_id = $1::bigint
            RETURNING photo.id)
        SELECT (SELECT count(*) FROM moving) AS found, (SELECT count(*) FROM moved) AS moved";
    let (at, step) = match place {
        Place::At(position) => (ParameterValue::Int32(position), ParameterValue::Int32(0)),
        Place::Step(step) => (ParameterValue::DbNull, ParameterValue::Int32(step)),
    };
    let rows = db::query(
        conn,
        ARRANGE,
        &[
            ParameterValue::Int64(item.get()),
            ParameterValue::Int64(seller.get()),
            ParameterValue::Int64(photo.0),
            at,
            step,
            description.map_or(ParameterValue::DbNull, |d| {
                ParameterValue::Str(d.to_owned())
            }),
        ],
    )?;
    Ok(rows::single(&rows, "arrange photos")?.int64("found")? > 0)
}

/// Of `digests`, those no photo shows any more.
pub fn unshown(conn: &Connection, digests: &[Digest]) -> Result<Vec<Digest>, AppError> {
    let hex: Vec<Option<String>> = digests
        .iter()
        .map(|d| Some(d.as_str().to_owned()))
        .collect();
    let rows = db::query(
        conn,
        &sql::at_least_one_row(
            "found.hex",
            "SELECT hex FROM unnest($1::text[]) AS hex \
             WHERE NOT EXISTS (SELECT 1 FROM item_photos AS photo \
                               WHERE photo.display_sha256 = decode(hex, 'hex') \
                                  OR photo.thumb_sha256 = decode(hex, 'hex'))",
        ),
        &[ParameterValue::ArrayStr(hex)],
    )?;
    rows::found(&rows, "unshown photos", "hex")
        .map(|row| {
            let hex = row.text("hex")?;
            Digest::parse(&hex)
                .ok_or_else(|| AppError::Internal("a photo digest is not hex".into()))
        })
        .collect()
}
