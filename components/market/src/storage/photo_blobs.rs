//! Where a photo's bytes live: Postgres' `photo_blobs`, each rendition named by the
//! SHA-256 of its bytes, so the same bytes are stored once however often they are
//! uploaded. This module is the only one that touches the bytes: an S3-compatible object
//! store (a bucket keyed by the same hex digest) could replace these three functions.

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::error::AppError;
use crate::domain::photo::{Digest, STORED_MEDIA_TYPE};
use crate::domain::photo_image::Encoded;
use crate::storage::{db, rows, sql};

/// Stores each rendition unless its bytes are already there.
pub fn put(conn: &Connection, renditions: &[&Encoded]) -> Result<(), AppError> {
    let mut seen: Vec<&Digest> = Vec::new();
    for encoded in renditions {
        let digest = &encoded.rendition.digest;
        if seen.contains(&digest) {
            continue;
        }
        seen.push(digest);
        db::execute(
            conn,
            "INSERT INTO photo_blobs (sha256, media_type, bytes) \
             VALUES (decode($1::text, 'hex'), $2::text, $3::bytea) \
             ON CONFLICT (sha256) DO NOTHING",
            &[
                ParameterValue::Str(digest.as_str().to_owned()),
                ParameterValue::Str(STORED_MEDIA_TYPE.to_owned()),
                ParameterValue::Binary(encoded.bytes.clone()),
            ],
        )?;
    }
    Ok(())
}

/// The bytes named `digest`, if they are stored.
pub fn get(conn: &Connection, digest: &Digest) -> Result<Option<Vec<u8>>, AppError> {
    let rows = db::query(
        conn,
        &sql::at_least_one_row(
            "found.bytes",
            "SELECT bytes FROM photo_blobs WHERE sha256 = decode($1::text, 'hex')",
        ),
        &[ParameterValue::Str(digest.as_str().to_owned())],
    )?;
    let row = rows::single(&rows, "photo bytes")?;
    Ok(row.optional_binary("bytes")?.map(<[u8]>::to_vec))
}

/// Deletes the bytes named `digests` (those `storage::photos::unshown` found no photo
/// showing). A photo added meanwhile with the same bytes keeps them: its reference makes
/// the delete fail, and the caller leaves it at that.
pub fn delete(conn: &Connection, digests: &[Digest]) -> Result<(), AppError> {
    if digests.is_empty() {
        return Ok(());
    }
    let hex: Vec<Option<String>> = digests
        .iter()
        .map(|d| Some(d.as_str().to_owned()))
        .collect();
    db::execute(
        conn,
        "DELETE FROM photo_blobs \
         WHERE sha256 IN (SELECT decode(hex, 'hex') FROM unnest($1::text[]) AS hex)",
        &[ParameterValue::ArrayStr(hex)],
    )
}
