//! A seller's photos of a listing: add one (checked for room before its pixels are
//! touched, then decoded, cleaned, resized and stored), remove one (its bytes go too,
//! unless another photo shows the same), and arrange them (order and descriptions).
//! Only the listing's seller can; to anyone else it is not found (404), as for editing.
//! Each change makes the listing cache show it before it returns.

use crate::domain::account::Person;
use crate::domain::error::AppError;
use crate::domain::item::ItemId;
use crate::domain::photo::{self, Digest, Photo, PhotoId, Refusal};
use crate::domain::photo_image::{self, Processed};
use crate::observe::{log, record};
use crate::storage::photos::{self, Place, Room};
use crate::storage::{cache, db, photo_blobs};

const WITHDRAWN: &str = "This listing was withdrawn: photos can be removed, not added.";

/// Refuses what a listing's `room` does not allow: `adding` more photos.
fn check_room(room: Room, adding: usize) -> Result<(), AppError> {
    match room {
        Room::NotTheirs => Err(AppError::NotFound),
        Room::Withdrawn => Err(AppError::Conflict(WITHDRAWN.into())),
        Room::Full => Err(AppError::Photo(Refusal::too_many())),
        Room::Free(has) if has + adding > photo::MAX_PHOTOS_PER_ITEM => {
            Err(AppError::Photo(Refusal::Unusable(format!(
                "This listing has {has} photo{} and can take {} more: at most {} in all.",
                if has == 1 { "" } else { "s" },
                photo::MAX_PHOTOS_PER_ITEM - has,
                photo::MAX_PHOTOS_PER_ITEM
            ))))
        }
        Room::Free(_) => Ok(()),
    }
}

/// Whether `seller` may add `adding` photos to `item` now: checked before an upload is
/// decoded, so nobody else's upload (and no ninth photo) costs its processing.
pub fn expect_room(seller: &Person, item: ItemId, adding: usize) -> Result<(), AppError> {
    check_room(photos::room(&*db::open()?, seller.id, item)?, adding)
}

/// Processes an upload (`name`: its file name, empty for an API body), refusing what
/// cannot be a photo.
pub fn prepare(bytes: &[u8], name: &str) -> Result<Processed, AppError> {
    let started = std::time::Instant::now();
    let processed = photo_image::process(bytes, name).map_err(AppError::Photo);
    record::photo_processed(started.elapsed());
    processed
}

/// Adds a prepared photo as the last of `item`'s, described by `description`.
/// Its outcomes in the log: `added`, `full`, `withdrawn`, `not_theirs`.
pub fn add(
    seller: &Person,
    item: ItemId,
    processed: &Processed,
    description: &str,
) -> Result<PhotoId, AppError> {
    record::use_case("add_photo");
    let description = photo::description(description)
        .map_err(|message| AppError::Photo(Refusal::Unusable(message)))?;
    let conn = db::open()?;
    photo_blobs::put(&conn, &[&processed.display, &processed.thumbnail])?;
    match photos::add(&conn, seller.id, item, processed, &description)? {
        Ok(id) => {
            cache::invalidate();
            record::outcome("added");
            Ok(id)
        }
        Err(room) => {
            record::outcome(match room {
                Room::Full | Room::Free(_) => "full",
                Room::Withdrawn => "withdrawn",
                Room::NotTheirs => "not_theirs",
            });
            forget(&[
                processed.display.rendition.digest.clone(),
                processed.thumbnail.rendition.digest.clone(),
            ]);
            check_room(room, 1).and(Err(AppError::Photo(Refusal::too_many())))
        }
    }
}

/// Removes photo `photo` of `item`, and its bytes unless another photo shows them.
/// Its outcomes in the log: `removed`, `not_theirs`.
pub fn remove(seller: &Person, item: ItemId, photo: PhotoId) -> Result<(), AppError> {
    record::use_case("remove_photo");
    match photos::remove(&*db::open()?, seller.id, item, photo)? {
        Some(digests) => {
            forget(&digests);
            cache::invalidate();
            record::outcome("removed");
            Ok(())
        }
        None => {
            record::outcome("not_theirs");
            Err(AppError::NotFound)
        }
    }
}

/// Moves photo `photo` of `item` to `place` and sets its description when given.
/// Its outcomes in the log: `arranged`, `not_theirs`.
pub fn arrange(
    seller: &Person,
    item: ItemId,
    photo: PhotoId,
    place: Place,
    description: Option<&str>,
) -> Result<(), AppError> {
    record::use_case("arrange_photos");
    let description = description
        .map(photo::description)
        .transpose()
        .map_err(|message| AppError::Photo(Refusal::Unusable(message)))?;
    if photos::arrange(
        &*db::open()?,
        seller.id,
        item,
        photo,
        place,
        description.as_deref(),
    )? {
        cache::invalidate();
        record::outcome("arranged");
        Ok(())
    } else {
        record::outcome("not_theirs");
        Err(AppError::NotFound)
    }
}

/// Photo `photo` of `item` as it is now.
pub fn find(item: ItemId, photo: PhotoId) -> Result<Photo, AppError> {
    db::find_item(&*db::open()?, item)?
        .and_then(|item| item.photos.into_iter().find(|found| found.id == photo))
        .ok_or(AppError::NotFound)
}

/// The stored bytes named `digest`.
pub fn bytes(digest: &Digest) -> Result<Option<Vec<u8>>, AppError> {
    photo_blobs::get(&*db::open()?, digest)
}

/// Deletes the bytes of `digests` that no photo shows; a failure leaves them (a photo
/// added meanwhile shows them, or the next removal tries again) and is logged.
fn forget(digests: &[Digest]) {
    let result = db::open().and_then(|conn| {
        let unshown = photos::unshown(&conn, digests)?;
        photo_blobs::delete(&conn, &unshown)
    });
    if let Err(error) = result {
        log::warn(&format!("photo bytes not deleted: {error:?}"));
    }
}
