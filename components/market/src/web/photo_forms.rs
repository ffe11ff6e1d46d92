//! Photos from people's forms: the sell form with its photos (`POST /items`, sent as
//! `multipart/form-data`), more photos on the edit page (`POST /items/{id}/photos`), and
//! each photo's description, place and removal (`POST /items/{id}/photos/{photo_id}`).
//!
//! A form's body is read as it arrives: each file is processed as soon as it is complete
//! and dropped, so a form of eight phone photos never holds more than one of them. No
//! file is processed before the poster is known: the CSRF token (the forms' first field)
//! is checked against the session when the first file begins.

use std::io::Read;

use crate::domain::account::{Person, Writer};
use crate::domain::error::AppError;
use crate::domain::item::{FieldErrors, Item, ItemId};
use crate::domain::listing::Listing;
use crate::domain::photo::{MAX_PHOTO_BYTES, MAX_PHOTOS_PER_ITEM, PhotoId, Refusal};
use crate::domain::photo_image::Processed;
use crate::storage::db;
use crate::storage::photos::Place;
use crate::use_cases::{photos, sell::sell};
use crate::web::cookies::Notice;
use crate::web::csrf::{self, CSRF_FIELD, CsrfToken};
use crate::web::form::{PostedForm, SellForm};
use crate::web::http::{self, MAX_BODY_BYTES, Request, Response, StatusCode};
use crate::web::item_forms;
use crate::web::multipart::{Limits, Multipart, MultipartError};
use crate::web::pages::{self, FormState};
use crate::web::photo_views::PHOTOS_FIELD;

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";
const MULTIPART_MEDIA_TYPE: &str = "multipart/form-data";

/// What a form of ours may carry: its text fields (64 KiB), up to 8 photos of up to
/// 15 MiB, and a few parts besides.
const LIMITS: Limits = Limits {
    max_file_bytes: MAX_PHOTO_BYTES,
    max_field_bytes: MAX_BODY_BYTES,
    max_parts: 16 + MAX_PHOTOS_PER_ITEM,
};

/// A multipart form as read: its text fields and its photos, processed.
struct Upload {
    fields: Vec<(String, String)>,
    photos: Vec<Processed>,
    poster: Person,
    token: CsrfToken,
}

/// Why an upload form was not taken, and what of it had been read.
struct Refused {
    error: AppError,
    fields: Vec<(String, String)>,
    poster: Option<(Person, CsrfToken)>,
}

impl Refused {
    fn urlencoded(&self) -> Vec<u8> {
        urlencoded(&self.fields)
    }
}

fn urlencoded(fields: &[(String, String)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

/// Reads a multipart form posted to come back to `next`, processing each photo (at most
/// `room` of them) as it completes.
fn read_upload(
    request: &Request,
    body: &mut dyn Read,
    next: &str,
    room: impl Fn(&Person) -> Result<usize, AppError>,
) -> Result<Upload, Refused> {
    let mut fields = Vec::new();
    let mut poster: Option<(Person, CsrfToken, usize)> = None;
    let mut photos = Vec::new();
    let content_type = request.header("content-type").unwrap_or_default();
    let refused = |error,
                   fields: Vec<(String, String)>,
                   poster: Option<(Person, CsrfToken, usize)>| Refused {
        error,
        fields,
        poster: poster.map(|(person, token, _)| (person, token)),
    };
    let mut form = match Multipart::new(body, content_type, LIMITS) {
        Ok(form) => form,
        Err(error) => return Err(refused(multipart_error(error), fields, poster)),
    };
    loop {
        let part = match form.next_part() {
            Ok(Some(part)) => part,
            Ok(None) => break,
            Err(error) => return Err(refused(multipart_error(error), fields, poster)),
        };
        if !part.is_file() {
            let value = String::from_utf8_lossy(&part.bytes).into_owned();
            fields.push((part.name, value));
            continue;
        }
        if part.is_empty_file_input() || part.name != PHOTOS_FIELD {
            continue;
        }
        if poster.is_none() {
            let submitted = fields
                .iter()
                .find(|(name, _)| name == CSRF_FIELD)
                .map(|(_, value)| value.as_str());
            let checked = csrf::form_poster(request, submitted, next)
                .and_then(|(person, token)| Ok((room(&person)?, person, token)));
            match checked {
                Ok((room, person, token)) => poster = Some((person, token, room)),
                Err(error) => return Err(refused(error, fields, None)),
            }
        }
        let room = poster.as_ref().map_or(0, |(_, _, room)| *room);
        if photos.len() >= room {
            let error = AppError::Photo(Refusal::Unusable(format!(
                "Choose at most {room} photo{}: a listing has at most {MAX_PHOTOS_PER_ITEM}.",
                if room == 1 { "" } else { "s" }
            )));
            return Err(refused(error, fields, poster));
        }
        let name = part.filename.clone().unwrap_or_default();
        match photos::prepare(&part.bytes, &name) {
            Ok(processed) => photos.push(processed),
            Err(error) => return Err(refused(error, fields, poster)),
        }
    }
    let (poster, token) = match poster {
        Some((person, token, _)) => (person, token),
        None => {
            let submitted = fields
                .iter()
                .find(|(name, _)| name == CSRF_FIELD)
                .map(|(_, value)| value.as_str());
            csrf::form_poster(request, submitted, next)
                .map_err(|error| refused(error, fields.clone(), None))?
        }
    };
    Ok(Upload {
        fields,
        photos,
        poster,
        token,
    })
}

fn multipart_error(error: MultipartError) -> AppError {
    match error {
        MultipartError::FileTooLarge { filename, .. } => {
            AppError::Photo(Refusal::too_large(&filename))
        }
        MultipartError::FieldsTooLarge { .. } => AppError::PayloadTooLarge,
        MultipartError::Unreadable => {
            AppError::BadRequest("The request body could not be read.".into())
        }
        other => AppError::BadRequest(other.message()),
    }
}

/// `POST /items`: the sell form, with its photos when sent as `multipart/form-data`
/// (without, as `application/x-www-form-urlencoded`, it is `item_forms::sell_from_form`).
/// Lists the item with its photos in the order chosen and goes home (303); a mistake in
/// a field or a photo that cannot be taken hands the form back with the reason.
pub fn sell_with_photos(request: &Request, body: &mut dyn Read) -> Result<Response, AppError> {
    if request.has_content_type(FORM_MEDIA_TYPE) {
        return item_forms::sell_from_form(&request.with_body_from(body));
    }
    if !request.has_content_type(MULTIPART_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(MULTIPART_MEDIA_TYPE));
    }
    let upload = match read_upload(request, body, "/", |_| Ok(MAX_PHOTOS_PER_ITEM)) {
        Ok(upload) => upload,
        Err(refused) => {
            let Some((seller, token)) = &refused.poster else {
                return Err(refused.error);
            };
            let form = SellForm::parse(&refused.urlencoded());
            let mut errors = FieldErrors::default();
            errors.add(PHOTOS_FIELD, refused.error.public_message());
            return sell_form_again(refused.error.status(), &form, &errors, token, seller);
        }
    };
    let form = SellForm::parse(&urlencoded(&upload.fields));
    let new_item = match form.validate() {
        Ok(new_item) => new_item,
        Err(mut errors) => {
            if !upload.photos.is_empty() {
                errors.add(
                    PHOTOS_FIELD,
                    "Your photos were fine: choose them again after correcting the fields.",
                );
            }
            return sell_form_again(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &errors,
                &upload.token,
                &upload.poster,
            );
        }
    };
    let item = sell(
        Writer::Person(upload.poster.id),
        &new_item,
        form.guards.idempotency_key.as_ref(),
    )?;
    // A retried form (the same key) gets its first item back, photos and all.
    if item.photos.is_empty() {
        for processed in &upload.photos {
            photos::add(&upload.poster, item.id(), processed, "")?;
        }
    }
    Ok(pages::redirect_with("/", Notice::Listed(item.id())))
}

fn sell_form_again(
    status: StatusCode,
    form: &SellForm,
    errors: &FieldErrors,
    token: &CsrfToken,
    seller: &Person,
) -> Result<Response, AppError> {
    pages::render(
        status,
        &Listing::default(),
        None,
        FormState {
            form,
            errors,
            ..FormState::fresh(Some(token))
        },
        Some(seller),
    )
}

fn edit_path(item: ItemId) -> String {
    format!("/items/{item}/edit")
}

/// The seller's item `id`, or 404.
fn sellers_item(seller: &Person, id: ItemId) -> Result<Item, AppError> {
    db::find_item(&*db::open()?, id)?
        .filter(|item| seller.sells(item))
        .ok_or(AppError::NotFound)
}

/// The edit page again, with why the photo change was refused.
fn edit_page_again(
    error: AppError,
    seller: &Person,
    token: &CsrfToken,
    id: ItemId,
) -> Result<Response, AppError> {
    let status = error.status();
    if matches!(
        error,
        AppError::NotFound | AppError::Unavailable(_) | AppError::Internal(_)
    ) {
        return Err(error);
    }
    let item = sellers_item(seller, id)?;
    item_forms::render_edit(
        status,
        &item,
        &PostedForm::from_item(&item),
        &FieldErrors::default(),
        token,
        seller,
        Some(&error.public_message()),
    )
}

/// `POST /items/{id}/photos`: adds the chosen photos after the listing's others and goes
/// back to the edit page (303), or shows it again with the reason.
pub fn upload(request: &Request, body: &mut dyn Read, id: ItemId) -> Result<Response, AppError> {
    if !request.has_content_type(MULTIPART_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(MULTIPART_MEDIA_TYPE));
    }
    let room = |seller: &Person| {
        photos::expect_room(seller, id, 1)?;
        let has = sellers_item(seller, id)?.photos.len();
        Ok(MAX_PHOTOS_PER_ITEM.saturating_sub(has))
    };
    let upload = match read_upload(request, body, &edit_path(id), room) {
        Ok(upload) => upload,
        Err(Refused {
            error,
            poster: Some((seller, token)),
            ..
        }) => return edit_page_again(error, &seller, &token, id),
        Err(refused) => return Err(refused.error),
    };
    if upload.photos.is_empty() {
        return edit_page_again(
            AppError::Photo(Refusal::Unusable(
                "Choose one or more photos to add.".into(),
            )),
            &upload.poster,
            &upload.token,
            id,
        );
    }
    for processed in &upload.photos {
        if let Err(error) = photos::add(&upload.poster, id, processed, "") {
            return edit_page_again(error, &upload.poster, &upload.token, id);
        }
    }
    Ok(http::see_other(&format!(
        "{}#photos-heading",
        edit_path(id)
    )))
}

/// `POST /items/{id}/photos/{photo_id}` with `action` save (the description), first,
/// earlier, later or delete: done, and back to the edit page (303).
pub fn change(
    request: &Request,
    body: &mut dyn Read,
    id: ItemId,
    photo: PhotoId,
) -> Result<Response, AppError> {
    let request = request.with_body_from(body);
    let form_body = item_forms::parse_form(&request, |body| {
        form_urlencoded::parse(body)
            .into_owned()
            .collect::<Vec<(String, String)>>()
    })?;
    let field = |name: &str| {
        form_body
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let (seller, token) = csrf::form_poster(&request, field(CSRF_FIELD), &edit_path(id))?;
    let description = field("description");
    let done = match field("action").unwrap_or("save") {
        "save" => photos::arrange(&seller, id, photo, Place::Step(0), description),
        "first" => photos::arrange(&seller, id, photo, Place::At(0), description),
        "earlier" => photos::arrange(&seller, id, photo, Place::Step(-1), description),
        "later" => photos::arrange(&seller, id, photo, Place::Step(1), description),
        "delete" => photos::remove(&seller, id, photo),
        _ => Err(AppError::BadRequest(
            "Choose save, first, earlier, later or delete.".into(),
        )),
    };
    match done {
        Ok(()) => Ok(http::see_other(&format!(
            "{}#photos-heading",
            edit_path(id)
        ))),
        Err(error) => edit_page_again(error, &seller, &token, id),
    }
}
