//! How photos look: the cover thumbnail of a listing's card (or a neutral placeholder),
//! the photos in order on an item's page, the file input of the sell form, and the
//! seller's photo controls on the edit page. Every image has its size and alt text; only
//! the first cards and the first photo load before they are scrolled to.

use maud::{Markup, html};

use crate::domain::item::{FieldErrors, Item};
use crate::domain::photo::{MAX_DESCRIPTION_CHARS, MAX_PHOTO_BYTES, MAX_PHOTOS_PER_ITEM};
use crate::web::csrf::CSRF_FIELD;

/// The field of the sell form and the edit page's upload that holds the photos.
pub const PHOTOS_FIELD: &str = "photos";
/// The formats a file input offers (the app checks the bytes whatever it offers).
const ACCEPTED: &str = "image/jpeg,image/png,image/webp";
/// Cards of the listing whose cover loads at once: the first row or two of the grid;
/// the rest wait until they are scrolled to.
pub const EAGER_COVERS: usize = 4;

fn limits_hint() -> String {
    format!(
        "Up to {MAX_PHOTOS_PER_ITEM} photos, JPEG, PNG or WebP, up to {} MiB each. \
         The first is the cover.",
        MAX_PHOTO_BYTES / (1024 * 1024)
    )
}

/// The cover of a listing's card: its first photo's thumbnail, or a placeholder.
/// `position` is the card's place on the page (the first few load at once).
pub fn card_cover(item: &Item, position: usize) -> Markup {
    html! {
        @if let Some(photo) = item.photos.first() {
            img.cover src=(photo.thumbnail.digest.url()) width=(photo.thumbnail.width)
                height=(photo.thumbnail.height) alt=(photo.alt(&item.name))
                loading=[(position >= EAGER_COVERS).then_some("lazy")] decoding="async";
        } @else {
            div.cover.no-photo { span { "No photo yet" } }
        }
    }
}

/// An item's photos in order, at display size, each linking to itself.
pub fn gallery(item: &Item) -> Markup {
    html! {
        @if !item.photos.is_empty() {
            ul.gallery aria-label="Photos" {
                @for (index, photo) in item.photos.iter().enumerate() {
                    li {
                        a href=(photo.display.digest.url()) {
                            img src=(photo.display.digest.url()) width=(photo.display.width)
                                height=(photo.display.height) alt=(photo.alt(&item.name))
                                loading=[(index > 0).then_some("lazy")] decoding="async";
                        }
                    }
                }
            }
        }
    }
}

/// The sell form's file input (the form itself is `multipart/form-data`).
pub fn photos_input(errors: &FieldErrors) -> Markup {
    let error = errors.get(PHOTOS_FIELD);
    html! {
        div.field {
            label for="photos" { "Photos (optional)" }
            p.hint #photos-hint { (limits_hint()) }
            input #photos type="file" name=(PHOTOS_FIELD) multiple accept=(ACCEPTED)
                aria-describedby={ "photos-hint" @if error.is_some() { " photos-error" } }
                aria-invalid=[error.map(|_| "true")];
            @if let Some(message) = error {
                p.field-error #photos-error { (message) }
            }
        }
    }
}

/// The edit page's photos: each with its description, its place in the order and a
/// delete button, then the upload of more while there is room. `problem`: why the last
/// photo change was refused.
pub fn manager(item: &Item, csrf_token: &str, problem: Option<&str>) -> Markup {
    let last = item.photos.len().saturating_sub(1);
    let room = MAX_PHOTOS_PER_ITEM.saturating_sub(item.photos.len());
    html! {
        section.photo-manager aria-labelledby="photos-heading" {
            h2 #photos-heading { "Photos" }
            @if let Some(problem) = problem {
                p.alert #photo-error role="alert" { (problem) }
            }
            @if item.photos.is_empty() {
                p { "This listing has no photos yet: the listing shows a placeholder." }
            } @else {
                p { "The first photo is the cover of the listing. A description is read out to people who cannot see the photo; without one, the item's name is." }
                ol.photo-list {
                    @for (index, photo) in item.photos.iter().enumerate() {
                        li #{ "photo-" (photo.id) } {
                            img src=(photo.thumbnail.digest.url()) width=(photo.thumbnail.width)
                                height=(photo.thumbnail.height) alt=(photo.alt(&item.name))
                                loading=[(index >= EAGER_COVERS).then_some("lazy")];
                            form method="post" action={ "/items/" (item.id) "/photos/" (photo.id) } {
                                input type="hidden" name=(CSRF_FIELD) value=(csrf_token);
                                div.field {
                                    label for={ "description-" (photo.id) } {
                                        "Description of photo " (index + 1)
                                    }
                                    input #{ "description-" (photo.id) } type="text" name="description"
                                        value=(photo.description) maxlength=(MAX_DESCRIPTION_CHARS);
                                }
                                div.photo-actions {
                                    button type="submit" name="action" value="save" { "Save description" }
                                    @if index > 0 {
                                        button type="submit" name="action" value="first" { "Make cover" }
                                        button type="submit" name="action" value="earlier" { "Move earlier" }
                                    }
                                    @if index < last {
                                        button type="submit" name="action" value="later" { "Move later" }
                                    }
                                    button.danger type="submit" name="action" value="delete" { "Delete photo" }
                                }
                            }
                        }
                    }
                }
            }
            @if room > 0 && !item.withdrawn {
                form #photo-upload method="post" action={ "/items/" (item.id) "/photos" }
                    enctype="multipart/form-data" {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf_token);
                    div.field {
                        label for="new-photos" { "Add photos (" (room) " more)" }
                        p.hint #new-photos-hint { (limits_hint()) }
                        input #new-photos type="file" name=(PHOTOS_FIELD) multiple
                            accept=(ACCEPTED) aria-describedby="new-photos-hint" required;
                    }
                    button type="submit" { "Upload photos" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::photo::{Digest, Photo, PhotoId, Rendition};

    fn item(id: i64, name: &str) -> Item {
        Item {
            id,
            name: name.into(),
            quantity: 1,
            price_cents: 100,
            description: "d".into(),
            date_added: "2026-12-07T10:00:00.000000Z".into(),
            seller_id: Some(1),
            seller_name: Some("Ada".into()),
            withdrawn: false,
            photos: Vec::new(),
            seller_rating: Default::default(),
        }
    }

    fn photo(id: i64, description: &str) -> Photo {
        let rendition = |bytes: &[u8], width, height| Rendition {
            digest: Digest::of(bytes),
            width,
            height,
        };
        Photo {
            id: PhotoId(id),
            display: rendition(b"display", 1600, 1200),
            thumbnail: rendition(b"thumb", 400, 300),
            description: description.into(),
        }
    }

    #[test]
    fn covers_have_their_size_and_alt_and_load_lazily_below_the_fold() {
        let mut item = item(1, "Bike <red>");
        let placeholder = card_cover(&item, 0).into_string();
        assert!(placeholder.contains("No photo yet"), "{placeholder}");
        assert!(!placeholder.contains("<img"), "{placeholder}");
        item.photos = vec![photo(1, ""), photo(2, "The saddle")];
        let first = card_cover(&item, 0).into_string();
        assert!(
            first.contains(r#"width="400" height="300" alt="Bike &lt;red&gt;""#),
            "{first}"
        );
        assert!(!first.contains("lazy"), "{first}");
        assert!(
            card_cover(&item, EAGER_COVERS)
                .into_string()
                .contains(r#"loading="lazy""#)
        );
        let gallery = gallery(&item).into_string();
        assert!(
            gallery.contains(r#"alt="The saddle" loading="lazy""#),
            "{gallery}"
        );
    }

    #[test]
    fn the_manager_offers_moves_that_make_sense_and_stops_uploads_when_full() {
        let mut item = item(7, "Lamp");
        item.photos = (1..=8).map(|id| photo(id, "")).collect();
        let html = manager(&item, "token", Some("Nope")).into_string();
        assert_eq!(html.matches(r#"value="first""#).count(), 7, "{html}");
        assert_eq!(html.matches(r#"value="later""#).count(), 7, "{html}");
        assert!(!html.contains("photo-upload"), "{html}");
        assert!(html.contains("Nope"));
        item.photos.truncate(2);
        let html = manager(&item, "token", None).into_string();
        assert!(html.contains(r#"action="/items/7/photos""#), "{html}");
        assert!(html.contains("6 more"), "{html}");
    }
}
