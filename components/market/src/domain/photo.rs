//! Photos of what is for sale: the limits an upload must keep, how its format is told
//! from its bytes, what a stored photo is (a display size and a thumbnail, each named by
//! the SHA-256 of its bytes) and why one is refused. Decoding and re-encoding are
//! `domain::photo_image`'s; no storage, no HTTP.

use std::fmt;

/// Photos a listing may have; the first is its cover.
pub const MAX_PHOTOS_PER_ITEM: usize = 8;
/// The largest photo file accepted, in bytes: a 12-megapixel phone JPEG is 3–6 MB, a
/// 48-megapixel one up to ~12 MB; a larger file is refused (413) as soon as it passes
/// this, before the rest is read.
pub const MAX_PHOTO_BYTES: usize = 15 * 1024 * 1024;
/// The most pixels a photo may declare. A JPEG is decoded at 1/2, 1/4 or 1/8 of its size
/// (the smallest scale still at least [`DISPLAY_MAX_SIDE`] on its longest side), so a
/// 48-megapixel JPEG costs about as much memory as a 12-megapixel PNG.
pub const MAX_JPEG_PIXELS: u64 = 50_000_000;
/// PNG and WebP are decoded whole, up to 4 bytes a pixel: 8.4 megapixels (e.g. 4096 ×
/// 2048, or a phone's 3264 × 2448) is 32 MiB of pixels, what the component's memory cap
/// leaves room for beside the upload itself.
pub const MAX_LOSSLESS_PIXELS: u64 = 4096 * 2048;
/// Longest side of a photo, in pixels, beyond which nothing can be a real photo.
pub const MAX_SIDE: u32 = 16_384;
/// The display size: longest side at most this many pixels (never upscaled).
pub const DISPLAY_MAX_SIDE: u32 = 1600;
/// The listing's thumbnail: cropped to 4:3 from the middle, this wide (never upscaled).
pub const THUMBNAIL_WIDTH: u32 = 400;
pub const THUMBNAIL_HEIGHT: u32 = 300;
/// JPEG quality of the display size and of the thumbnail (4:2:0 chroma, baseline).
pub const DISPLAY_QUALITY: u8 = 82;
pub const THUMBNAIL_QUALITY: u8 = 78;
/// Longest description (alt text), in characters, after trimming.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// The media type of every stored rendition: photos are re-encoded as JPEG.
pub const STORED_MEDIA_TYPE: &str = "image/jpeg";

/// The formats a photo may arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

/// What the first bytes of an upload say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Supported(Format),
    /// HEIC or HEIF, as iPhones save photos by default.
    Heic,
    Avif,
    Gif,
    /// Markup (SVG, HTML, XML), never an image this shop shows.
    Markup,
    Unknown,
}

/// Tells an upload's format from its bytes alone (its name and declared type say
/// nothing a sender could not fake).
pub fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Supported(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Supported(Format::Png);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Sniffed::Supported(Format::Webp);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Sniffed::Gif;
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brands = &bytes[8..bytes.len().min(64)];
        let has = |brand: &[u8]| brands.chunks(4).any(|chunk| chunk == brand);
        if has(b"avif") || has(b"avis") {
            return Sniffed::Avif;
        }
        if [
            b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1",
        ]
        .iter()
        .any(|brand| has(*brand))
        {
            return Sniffed::Heic;
        }
    }
    let text = bytes[..bytes.len().min(512)].trim_ascii_start();
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    if text.first() == Some(&b'<') {
        return Sniffed::Markup;
    }
    Sniffed::Unknown
}

/// Why a photo was not taken, with the status it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a JPEG, PNG or WebP (415).
    Unsupported(String),
    /// Over [`MAX_PHOTO_BYTES`] (413).
    TooLarge(String),
    /// A supported format that cannot be used: animated, truncated, too many pixels,
    /// or one photo too many (422).
    Unusable(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Self::Unsupported(message) | Self::TooLarge(message) | Self::Unusable(message) => {
                message
            }
        }
    }

    /// Why `sniffed` cannot be a photo, for a file called `name` (empty: the request's
    /// body), or none when it is a supported format.
    pub fn for_format(sniffed: Sniffed, name: &str) -> Option<Self> {
        let what = named(name);
        let reason = match sniffed {
            Sniffed::Supported(_) => return None,
            Sniffed::Heic => "is a HEIC photo (as iPhones save them)",
            Sniffed::Avif => "is an AVIF image",
            Sniffed::Gif => "is a GIF",
            Sniffed::Markup => "is markup (SVG or HTML), not a photo",
            Sniffed::Unknown => "is not an image this shop can read",
        };
        Some(Self::Unsupported(format!(
            "{what} {reason}: a photo must be JPEG, PNG or WebP. \
             On an iPhone, Settings › Camera › Formats › Most Compatible saves JPEG."
        )))
    }

    pub fn too_large(name: &str) -> Self {
        Self::TooLarge(format!(
            "{} is larger than {} MiB, the most a photo may be.",
            named(name),
            MAX_PHOTO_BYTES / (1024 * 1024)
        ))
    }

    pub fn too_many() -> Self {
        Self::Unusable(format!(
            "A listing has at most {MAX_PHOTOS_PER_ITEM} photos: remove one before adding another."
        ))
    }

    pub fn unusable(name: &str, reason: &str) -> Self {
        Self::Unusable(format!("{} {reason}", named(name)))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// How a message names the file: by its name, or as "the photo" for a request body.
fn named(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).take(80).collect();
    if name.trim().is_empty() {
        "The photo".to_owned()
    } else {
        format!("“{name}”")
    }
}

/// Refuses a photo that declares more pixels than it may be decoded with: checked from
/// its header, before any pixel is allocated (a 50,000 × 50,000 PNG is a few hundred
/// bytes, and 10 GB once decoded).
pub fn check_dimensions(
    format: Format,
    width: u32,
    height: u32,
    name: &str,
) -> Result<(), Refusal> {
    let pixels = u64::from(width) * u64::from(height);
    let limit = match format {
        Format::Jpeg => MAX_JPEG_PIXELS,
        Format::Png | Format::Webp => MAX_LOSSLESS_PIXELS,
    };
    if width == 0 || height == 0 {
        return Err(Refusal::unusable(name, "has no pixels."));
    }
    if pixels > limit || width > MAX_SIDE || height > MAX_SIDE {
        return Err(Refusal::unusable(
            name,
            &format!(
                "is {width} × {height} pixels; a photo may have at most {:.1} megapixels \
                 ({:.1} as PNG or WebP) and {MAX_SIDE} pixels a side.",
                MAX_JPEG_PIXELS as f64 / 1e6,
                MAX_LOSSLESS_PIXELS as f64 / 1e6
            ),
        ));
    }
    Ok(())
}

/// The size a `width` × `height` image is shown at: its longest side at most
/// [`DISPLAY_MAX_SIDE`], the same shape, never larger than it is.
pub fn display_size(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= DISPLAY_MAX_SIDE {
        return (width, height);
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(DISPLAY_MAX_SIDE) + u64::from(longest) / 2)
            / u64::from(longest))
        .max(1) as u32
    };
    (scale(width), scale(height))
}

/// The 4:3 rectangle (x, y, width, height) cut from the middle of a `width` × `height`
/// image for its thumbnail.
pub fn thumbnail_crop(width: u32, height: u32) -> (u32, u32, u32, u32) {
    // Widest 4:3 that fits: either the full width or the full height.
    let (crop_width, crop_height) = if u64::from(width) * 3 >= u64::from(height) * 4 {
        (((u64::from(height) * 4) / 3).max(1) as u32, height)
    } else {
        (width, ((u64::from(width) * 3) / 4).max(1) as u32)
    };
    let crop_width = crop_width.min(width);
    let crop_height = crop_height.min(height);
    (
        (width - crop_width) / 2,
        (height - crop_height) / 2,
        crop_width,
        crop_height,
    )
}

/// The thumbnail's size for a crop of `width` × `height` (4:3): [`THUMBNAIL_WIDTH`] ×
/// [`THUMBNAIL_HEIGHT`], or the crop itself when it is smaller (never upscaled).
pub fn thumbnail_size(width: u32, height: u32) -> (u32, u32) {
    if width <= THUMBNAIL_WIDTH {
        (width, height)
    } else {
        (THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT)
    }
}

/// The EXIF orientation (1–8) in a TIFF structure (an EXIF block without its `Exif\0\0`
/// prefix, which is also accepted), or none when it has none or is damaged.
pub fn exif_orientation(exif: &[u8]) -> Option<u16> {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let little = match tiff.get(..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let bytes: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let bytes: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries.min(512)).find_map(|index| {
        let entry = ifd.checked_add(2)?.checked_add(index * 12)?;
        // Tag 0x0112, type SHORT (3), one value.
        if u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3 {
            let value = u16_at(entry + 8)?;
            (1..=8).contains(&value).then_some(value)
        } else {
            None
        }
    })
}

/// A photo's id, as in `/api/items/{id}/photos/{photo_id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PhotoId(pub i64);

impl PhotoId {
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().filter(|id| *id > 0).map(Self)
    }
}

impl fmt::Display for PhotoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The SHA-256 of a rendition's bytes, as 64 lowercase hex digits: its name in storage
/// and in its URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(bytes);
        Self(hash.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// A digest as written in a URL or read back from Postgres: 64 lowercase hex digits.
    pub fn parse(hex: &str) -> Option<Self> {
        (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(hex.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the rendition is served: its hash is its name, so it never changes.
    pub fn url(&self) -> String {
        format!("/photos/{}.jpg", self.0)
    }
}

/// One stored size of a photo: its bytes' digest and its size in pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    pub digest: Digest,
    pub width: u32,
    pub height: u32,
}

/// A photo of a listing, as its page and the API show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    pub id: PhotoId,
    pub display: Rendition,
    pub thumbnail: Rendition,
    /// The seller's words for it (its alt text); empty when they gave none.
    pub description: String,
}

impl Photo {
    /// Its alt text: the seller's description, else the item's name.
    pub fn alt<'a>(&'a self, item_name: &'a str) -> &'a str {
        if self.description.is_empty() {
            item_name
        } else {
            &self.description
        }
    }
}

/// The API's photo object: `id`, `url`, `thumbnail_url`, `width`, `height`,
/// `thumbnail_width`, `thumbnail_height` and `description`.
impl serde::Serialize for Photo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut photo = serializer.serialize_struct("Photo", 8)?;
        photo.serialize_field("id", &self.id)?;
        photo.serialize_field("url", &self.display.digest.url())?;
        photo.serialize_field("thumbnail_url", &self.thumbnail.digest.url())?;
        photo.serialize_field("width", &self.display.width)?;
        photo.serialize_field("height", &self.display.height)?;
        photo.serialize_field("thumbnail_width", &self.thumbnail.width)?;
        photo.serialize_field("thumbnail_height", &self.thumbnail.height)?;
        photo.serialize_field("description", &self.description)?;
        photo.end()
    }
}

/// Reads back what [`Photo`]'s `Serialize` wrote (the listing cache keeps items so).
impl<'de> serde::Deserialize<'de> for Photo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Stored {
            id: PhotoId,
            url: String,
            thumbnail_url: String,
            width: u32,
            height: u32,
            thumbnail_width: u32,
            thumbnail_height: u32,
            description: String,
        }
        let stored = Stored::deserialize(deserializer)?;
        let digest = |url: &str| {
            url.strip_prefix("/photos/")
                .and_then(|name| name.strip_suffix(".jpg"))
                .and_then(Digest::parse)
                .ok_or_else(|| serde::de::Error::custom("a photo URL names its SHA-256"))
        };
        Ok(Self {
            id: stored.id,
            display: Rendition {
                digest: digest(&stored.url)?,
                width: stored.width,
                height: stored.height,
            },
            thumbnail: Rendition {
                digest: digest(&stored.thumbnail_url)?,
                width: stored.thumbnail_width,
                height: stored.thumbnail_height,
            },
            description: stored.description,
        })
    }
}

/// A description as the seller typed it: trimmed, one line, at most
/// [`MAX_DESCRIPTION_CHARS`] characters.
pub fn description(text: &str) -> Result<String, String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!(
            "Describe a photo in at most {MAX_DESCRIPTION_CHARS} characters."
        ));
    }
    if text.chars().any(char::is_control) {
        return Err("A photo's description cannot hold control characters.".into());
    }
    Ok(text)
}

/// Where a photo moves among its listing's photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// To be the cover.
    First,
    Earlier,
    Later,
    /// To this position (0 is the cover), clamped to the last.
    To(usize),
}

impl Move {
    /// The position a photo at `from` of `count` photos ends at.
    pub fn target(self, from: usize, count: usize) -> usize {
        let last = count.saturating_sub(1);
        match self {
            Self::First => 0,
            Self::Earlier => from.saturating_sub(1),
            Self::Later => (from + 1).min(last),
            Self::To(position) => position.min(last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_bytes() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0rest"),
            Sniffed::Supported(Format::Jpeg)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n...."),
            Sniffed::Supported(Format::Png)
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8L"),
            Sniffed::Supported(Format::Webp)
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), Sniffed::Heic);
        assert_eq!(sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1"), Sniffed::Avif);
        assert_eq!(sniff(b"GIF89a\x01\0"), Sniffed::Gif);
        assert_eq!(
            sniff(b"  <svg xmlns='http://www.w3.org/2000/svg'>"),
            Sniffed::Markup
        );
        assert_eq!(sniff(b"\xEF\xBB\xBF<html>"), Sniffed::Markup);
        assert_eq!(sniff(b"hello"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }

    #[test]
    fn a_heic_is_refused_saying_what_a_photo_must_be() {
        let refusal = Refusal::for_format(Sniffed::Heic, "IMG_0001.HEIC").unwrap();
        assert!(matches!(refusal, Refusal::Unsupported(_)));
        assert!(
            refusal.message().contains("“IMG_0001.HEIC” is a HEIC"),
            "{refusal}"
        );
        assert!(refusal.message().contains("JPEG, PNG or WebP"), "{refusal}");
        assert!(Refusal::for_format(Sniffed::Supported(Format::Png), "a.png").is_none());
    }

    #[test]
    fn a_bomb_is_refused_from_its_declared_size() {
        assert!(check_dimensions(Format::Png, 50_000, 50_000, "").is_err());
        assert!(check_dimensions(Format::Jpeg, 4032, 3024, "").is_ok());
        assert!(check_dimensions(Format::Jpeg, 8064, 6048, "").is_ok());
        assert!(check_dimensions(Format::Png, 3264, 2448, "").is_ok());
        assert!(check_dimensions(Format::Png, 5000, 4000, "").is_err());
        assert!(check_dimensions(Format::Jpeg, 20_000, 10, "").is_err());
        assert!(check_dimensions(Format::Webp, 0, 10, "").is_err());
    }

    #[test]
    fn sizes_shrink_to_fit_and_never_grow() {
        assert_eq!(display_size(4032, 3024), (1600, 1200));
        assert_eq!(display_size(3024, 4032), (1200, 1600));
        assert_eq!(display_size(800, 600), (800, 600));
        assert_eq!(display_size(20_000, 1), (1600, 1));
        assert_eq!(thumbnail_crop(1600, 1200), (0, 0, 1600, 1200));
        assert_eq!(thumbnail_crop(1200, 1600), (0, 350, 1200, 900));
        assert_eq!(thumbnail_crop(1600, 900), (200, 0, 1200, 900));
        assert_eq!(thumbnail_size(1200, 900), (400, 300));
        assert_eq!(thumbnail_size(200, 150), (200, 150));
    }

    #[test]
    fn the_orientation_is_read_from_either_byte_order() {
        let little = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0";
        assert_eq!(exif_orientation(little), Some(6));
        let big = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x08\0\0\0\0\0\0";
        assert_eq!(exif_orientation(big), Some(8));
        assert_eq!(exif_orientation(b"II*\0\xff\xff\xff\xff"), None);
        assert_eq!(exif_orientation(b""), None);
    }

    #[test]
    fn a_photo_reads_back_as_the_api_writes_it() {
        let digest = Digest::of(b"x");
        let photo = Photo {
            id: PhotoId(3),
            display: Rendition {
                digest: digest.clone(),
                width: 1600,
                height: 1200,
            },
            thumbnail: Rendition {
                digest,
                width: 400,
                height: 300,
            },
            description: "Front".into(),
        };
        let json = serde_json::to_value(&photo).unwrap();
        assert_eq!(
            json["url"],
            format!("/photos/{}.jpg", photo.display.digest.as_str())
        );
        assert_eq!(json["width"], 1600);
        let back: Photo = serde_json::from_value(json).unwrap();
        assert_eq!(back, photo);
    }

    #[test]
    fn descriptions_are_one_trimmed_line() {
        assert_eq!(description("  red \n frame ").unwrap(), "red frame");
        assert!(description(&"x".repeat(201)).is_err());
        assert_eq!(Move::First.target(3, 5), 0);
        assert_eq!(Move::Later.target(4, 5), 4);
        assert_eq!(Move::Earlier.target(0, 5), 0);
        assert_eq!(Move::To(9).target(0, 5), 4);
    }
}
