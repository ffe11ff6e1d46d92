//! Photos over HTTP for programs and for everyone who looks: `POST /api/items/{id}/photos`
//! (the image as the body), `PATCH` and `DELETE /api/items/{id}/photos/{photo_id}` for
//! the listing's seller (an API token; 404 for anyone else), and `GET /photos/{sha256}.jpg`,
//! the stored bytes at a URL that names them, so they can be kept for a year.

use std::io::Read;

use serde_json::Value;

use crate::domain::error::AppError;
use crate::domain::item::ItemId;
use crate::domain::photo::{self, Digest, MAX_PHOTO_BYTES, PhotoId, Refusal};
use crate::storage::photos::Place;
use crate::use_cases::photos;
use crate::web::http::{self, HeaderValue, Request, Response, StatusCode, header};
use crate::web::{session, sharing};

/// The media types an API upload may declare (its bytes decide what it is).
const IMAGE_MEDIA_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];
const JSON_MEDIA_TYPE: &str = "application/json";

/// How long nginx keeps a photo before asking the app again (`X-Accel-Expires`, which
/// nginx reads and does not pass on): the longest a photo its seller deleted is still
/// served from nginx's cache, at its unguessable URL. Browsers keep it a year.
pub const EDGE_SECONDS: u32 = 600;

/// Reads at most `limit` bytes of `body` (`declared` long, when the request said): 413
/// (naming the limit) when there are more, without reading past them. The buffer is
/// sized once from the declared length, so it never holds a doubled copy as it grows.
fn read_upload(
    body: &mut dyn Read,
    declared: Option<usize>,
    limit: usize,
    name: &str,
) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit + 1));
    match body.take(limit as u64 + 1).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() > limit => Err(AppError::Photo(Refusal::too_large(name))),
        Ok(_) => Ok(bytes),
        Err(_) => Err(AppError::BadRequest(
            "The request body could not be read.".into(),
        )),
    }
}

/// The declared `Content-Length`, when it is over the photo limit: refused before a byte
/// of the body is read.
fn declared_too_large(request: &Request, limit: usize) -> bool {
    request
        .header(header::CONTENT_LENGTH.as_str())
        .and_then(|length| length.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64)
}

/// `POST /api/items/{id}/photos` with the image as the body: 201 with the photo, added
/// last. Checked before the body is read: the token (401), the listing's seller (404),
/// its room (409 withdrawn, 422 full), the declared size (413) and type (415).
pub fn upload(request: &Request, body: &mut dyn Read, item: ItemId) -> Result<Response, AppError> {
    let seller = session::token_holder(request)?;
    if declared_too_large(request, MAX_PHOTO_BYTES) {
        return Err(AppError::Photo(Refusal::too_large("")));
    }
    if !IMAGE_MEDIA_TYPES
        .iter()
        .any(|media_type| request.has_content_type(media_type))
    {
        return Err(AppError::Photo(Refusal::Unsupported(
            "Send the photo as the body, with Content-Type image/jpeg, image/png or image/webp."
                .into(),
        )));
    }
    let description = request.query_param("description").unwrap_or_default();
    photos::expect_room(&seller, item, 1)?;
    let declared = request
        .header(header::CONTENT_LENGTH.as_str())
        .and_then(|length| length.parse().ok());
    let bytes = read_upload(body, declared, MAX_PHOTO_BYTES, "")?;
    let processed = photos::prepare(&bytes, "")?;
    drop(bytes);
    let id = photos::add(&seller, item, &processed, &description)?;
    let photo = photos::find(item, id)?;
    let mut response = http::json(StatusCode::CREATED, &serde_json::to_value(&photo)?);
    if let Ok(location) = HeaderValue::from_str(&photo.display.digest.url()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `DELETE /api/items/{id}/photos/{photo_id}`: 204; the photo and its bytes are gone.
pub fn delete(request: &Request, item: ItemId, photo: PhotoId) -> Result<Response, AppError> {
    let seller = session::token_holder(request)?;
    photos::remove(&seller, item, photo)?;
    let mut response = http::json_text(StatusCode::NO_CONTENT, String::new());
    response.headers_mut().remove(header::CONTENT_TYPE);
    Ok(response)
}

/// `PATCH /api/items/{id}/photos/{photo_id}` with `position` (0 is the cover) and/or
/// `description`: 200 with the photo as it is now.
pub fn change(request: &Request, item: ItemId, photo: PhotoId) -> Result<Response, AppError> {
    let seller = session::token_holder(request)?;
    let body = request.body_bytes()?;
    if !request.has_content_type(JSON_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(JSON_MEDIA_TYPE));
    }
    let (position, description) = parse_change(body)?;
    let place = position.map_or(Place::Step(0), Place::At);
    photos::arrange(&seller, item, photo, place, description.as_deref())?;
    let photo = photos::find(item, photo)?;
    Ok(http::json(StatusCode::OK, &serde_json::to_value(&photo)?))
}

/// `{"position": 0–7, "description": "…"}`, both optional, nothing else.
fn parse_change(body: &[u8]) -> Result<(Option<i32>, Option<String>), AppError> {
    let bad = |message: &str| AppError::BadRequest(message.to_owned());
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        bad("The body is not valid JSON: send {\"position\": 0, \"description\": \"…\"}.")
    })?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("The body must be a JSON object."))?;
    if let Some(unknown) = object
        .keys()
        .find(|key| !matches!(key.as_str(), "position" | "description"))
    {
        return Err(bad(&format!(
            "Unknown field \"{unknown}\": a photo has a position and a description."
        )));
    }
    let position = match object.get("position") {
        None | Some(Value::Null) => None,
        Some(value) => {
            // A whole number, also written with a zero fraction (`3.0`), as JSON Schema's
            // `integer` has it.
            let whole = value.as_i64().or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                    .map(|f| f as i64)
            });
            Some(
                whole
                    .filter(|position| (0..photo::MAX_PHOTOS_PER_ITEM as i64).contains(position))
                    .ok_or_else(|| {
                        bad("\"position\" must be a whole number from 0 (the cover) to 7.")
                    })? as i32,
            )
        }
    };
    let description = match object.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return Err(bad("\"description\" must be a string.")),
    };
    Ok((position, description))
}

/// The digest in a photo's path `/photos/{64 hex}.jpg`.
pub fn digest_in_path(path: &str) -> Option<Digest> {
    Digest::parse(path.strip_prefix("/photos/")?.strip_suffix(".jpg")?)
}

/// `GET /photos/{sha256}.jpg`: the bytes, immutable for a year (an `ETag` of their hash
/// answers a revalidation with 304), kept by nginx for [`EDGE_SECONDS`]; sniffing off
/// and a sandboxing policy, so the bytes can only ever be an image.
pub fn serve(request: &Request, digest: &Digest) -> Result<Response, AppError> {
    let etag = format!("\"{}\"", digest.as_str());
    let not_modified = request
        .header(header::IF_NONE_MATCH.as_str())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if not_modified {
        let mut response = http::Response::new(Vec::new());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let bytes = photos::bytes(digest)?.ok_or(AppError::NotFound)?;
        http::bytes(StatusCode::OK, photo::STORED_MEDIA_TYPE, bytes)
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert("x-accel-expires", EDGE_SECONDS.into());
    Ok(sharing::immutable(response))
}

impl From<serde_json::Error> for AppError {
    fn from(error: serde_json::Error) -> Self {
        AppError::Internal(format!("JSON of a photo: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_takes_a_whole_position_and_a_description_and_nothing_else() {
        assert_eq!(
            parse_change(br#"{"position": 2, "description": "Side"}"#).unwrap(),
            (Some(2), Some("Side".to_owned()))
        );
        assert_eq!(
            parse_change(br#"{"position": 3.0}"#).unwrap(),
            (Some(3), None)
        );
        assert_eq!(
            parse_change(br#"{"position": null}"#).unwrap(),
            (None, None)
        );
        for wrong in [
            r#"{"position": 8}"#,
            r#"{"position": -1}"#,
            r#"{"position": 1.5}"#,
            r#"{"position": "1"}"#,
            r#"{"description": 5}"#,
            r#"{"colour": "red"}"#,
            r#"[]"#,
            "not json",
        ] {
            assert!(parse_change(wrong.as_bytes()).is_err(), "{wrong}");
        }
        assert_eq!(
            digest_in_path(&format!("/photos/{}.jpg", "a".repeat(64))).map(|d| d.url()),
            Some(format!("/photos/{}.jpg", "a".repeat(64)))
        );
        assert!(digest_in_path("/photos/../../etc/passwd.jpg").is_none());
        assert!(digest_in_path(&format!("/photos/{}.png", "a".repeat(64))).is_none());
    }
}
