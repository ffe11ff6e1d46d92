//! What an uploaded photo becomes: decoded (a JPEG at the smallest DCT scale that still
//! covers the display size, so a 12-megapixel photo never exists at full size in
//! memory), turned upright by its EXIF orientation, shrunk to the display size and cut to
//! the thumbnail, and re-encoded as baseline JPEG. Re-encoding writes pixels only: EXIF
//! (GPS position, camera serials), XMP, IPTC and every other segment of the upload are
//! left behind.

use std::io::Cursor;

use image::{RgbImage, imageops};

use crate::domain::photo::{
    self, DISPLAY_QUALITY, Digest, Format, Refusal, Rendition, Sniffed, THUMBNAIL_QUALITY,
};

/// A rendition ready to store: its bytes, their digest, its size.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub rendition: Rendition,
}

/// An upload made into the two sizes the shop keeps.
#[derive(Debug, Clone)]
pub struct Processed {
    pub display: Encoded,
    pub thumbnail: Encoded,
}

/// Makes the display size and the thumbnail of the upload `bytes` (a file called
/// `name`, empty for an API body), or says why it cannot be a photo.
pub fn process(bytes: &[u8], name: &str) -> Result<Processed, Refusal> {
    let format = match photo::sniff(bytes) {
        Sniffed::Supported(format) => format,
        other => return Err(Refusal::for_format(other, name).expect("not supported")),
    };
    let decoded = match format {
        Format::Jpeg => decode_jpeg(bytes, name)?,
        Format::Png => decode_png(bytes, name)?,
        Format::Webp => decode_webp(bytes, name)?,
    };
    let (width, height) = photo::display_size(decoded.image.width(), decoded.image.height());
    let shrunk = if (width, height) == decoded.image.dimensions() {
        decoded.image
    } else {
        imageops::thumbnail(&decoded.image, width, height)
    };
    let display = orient(shrunk, decoded.orientation);
    let (x, y, crop_width, crop_height) = photo::thumbnail_crop(display.width(), display.height());
    let (thumb_width, thumb_height) = photo::thumbnail_size(crop_width, crop_height);
    let cropped = imageops::crop_imm(&display, x, y, crop_width, crop_height).to_image();
    let thumbnail = if (thumb_width, thumb_height) == cropped.dimensions() {
        cropped
    } else {
        imageops::thumbnail(&cropped, thumb_width, thumb_height)
    };
    Ok(Processed {
        display: encode(&display, DISPLAY_QUALITY)?,
        thumbnail: encode(&thumbnail, THUMBNAIL_QUALITY)?,
    })
}

/// Decoded pixels (RGB, alpha laid on white) and the EXIF orientation to apply.
struct Decoded {
    image: RgbImage,
    orientation: u16,
}

fn damaged(name: &str) -> Refusal {
    Refusal::unusable(
        name,
        "could not be read: the file is cut short or damaged. Save or export it again.",
    )
}

fn decode_jpeg(bytes: &[u8], name: &str) -> Result<Decoded, Refusal> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(|_| damaged(name))?;
    let info = decoder.info().ok_or_else(|| damaged(name))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    photo::check_dimensions(Format::Jpeg, width, height, name)?;
    // The smallest of 1/8, 1/4, 1/2 and 1 whose longest side still covers the display
    // size (or the whole photo, when it is smaller than that).
    let wanted = |side: u32| -> u16 {
        let longest = width.max(height);
        let target = longest.min(photo::DISPLAY_MAX_SIDE);
        (u64::from(side) * u64::from(target))
            .div_ceil(u64::from(longest))
            .clamp(1, u64::from(u16::MAX)) as u16
    };
    decoder
        .scale(wanted(width), wanted(height))
        .map_err(|_| damaged(name))?;
    let pixels = decoder.decode().map_err(|_| damaged(name))?;
    let info = decoder.info().ok_or_else(|| damaged(name))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let orientation = decoder
        .exif_data()
        .and_then(photo::exif_orientation)
        .unwrap_or(1);
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks_exact(2)
            .flat_map(|l| [l[0], l[0], l[0]])
            .collect(),
        // jpeg-decoder hands CMYK (Adobe's inverted form) as 4 bytes a pixel.
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let k = u16::from(p[3]);
                [p[0], p[1], p[2]].map(|c| ((u16::from(c) * k) / 255) as u8)
            })
            .collect(),
    };
    let image = RgbImage::from_raw(width, height, rgb).ok_or_else(|| damaged(name))?;
    Ok(Decoded { image, orientation })
}

fn decode_png(bytes: &[u8], name: &str) -> Result<Decoded, Refusal> {
    // The size the header declares, checked before the decoder sees the file: the first
    // chunk of every PNG is IHDR, its width and height at bytes 16–23.
    if bytes.get(12..16) == Some(b"IHDR") {
        let side = |at: usize| {
            bytes
                .get(at..at + 4)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        photo::check_dimensions(Format::Png, side(16), side(20), name)?;
    }
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|_| damaged(name))?;
    let info = reader.info();
    photo::check_dimensions(Format::Png, info.width, info.height, name)?;
    if info
        .animation_control
        .is_some_and(|control| control.num_frames > 1)
    {
        return Err(animated(name));
    }
    let orientation = info
        .exif_metadata
        .as_deref()
        .and_then(photo::exif_orientation)
        .unwrap_or(1);
    let size = reader.output_buffer_size().ok_or_else(|| damaged(name))?;
    let mut pixels = vec![0; size];
    let frame = reader.next_frame(&mut pixels).map_err(|_| damaged(name))?;
    pixels.truncate(frame.buffer_size());
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(damaged(name)),
    };
    let image = to_rgb(pixels, frame.width, frame.height, channels, frame.line_size)
        .ok_or_else(|| damaged(name))?;
    Ok(Decoded { image, orientation })
}

fn decode_webp(bytes: &[u8], name: &str) -> Result<Decoded, Refusal> {
    let mut decoder =
        image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|_| damaged(name))?;
    let (width, height) = decoder.dimensions();
    photo::check_dimensions(Format::Webp, width, height, name)?;
    if decoder.is_animated() {
        return Err(animated(name));
    }
    let orientation = decoder
        .exif_metadata()
        .ok()
        .flatten()
        .as_deref()
        .and_then(photo::exif_orientation)
        .unwrap_or(1);
    let channels = if decoder.has_alpha() { 4 } else { 3 };
    let size = decoder.output_buffer_size().ok_or_else(|| damaged(name))?;
    let mut pixels = vec![0; size];
    decoder.read_image(&mut pixels).map_err(|_| damaged(name))?;
    let image = to_rgb(pixels, width, height, channels, width as usize * channels)
        .ok_or_else(|| damaged(name))?;
    Ok(Decoded { image, orientation })
}

fn animated(name: &str) -> Refusal {
    Refusal::unusable(
        name,
        "is animated: a photo must be a single still picture. Save one frame as JPEG, PNG or WebP.",
    )
}

/// Rows of `channels` bytes a pixel (grey, grey+alpha, RGB, RGBA), `line` bytes apart,
/// made RGB, transparency laid on white: in the same buffer for 3 or 4 bytes a pixel (each
/// pixel is written at or before where it was read), in a new one for grey.
fn to_rgb(
    pixels: Vec<u8>,
    width: u32,
    height: u32,
    channels: usize,
    line: usize,
) -> Option<RgbImage> {
    let (w, h) = (width as usize, height as usize);
    if line < w * channels || pixels.len() < line * h.saturating_sub(1) + w * channels {
        return None;
    }
    let on_white = |value: u8, alpha: u8| -> u8 {
        let (value, alpha) = (u32::from(value), u32::from(alpha));
        ((value * alpha + 255 * (255 - alpha) + 127) / 255) as u8
    };
    let mut pixels = pixels;
    let mut grey_source = Vec::new();
    if channels < 3 {
        grey_source = std::mem::replace(&mut pixels, vec![0; w * h * 3]);
    }
    let mut out = 0;
    for row in 0..h {
        for column in 0..w {
            let at = row * line + column * channels;
            let rgb = match channels {
                1 => [grey_source[at]; 3],
                2 => [on_white(grey_source[at], grey_source[at + 1]); 3],
                3 => [pixels[at], pixels[at + 1], pixels[at + 2]],
                _ => {
                    let alpha = pixels[at + 3];
                    [
                        on_white(pixels[at], alpha),
                        on_white(pixels[at + 1], alpha),
                        on_white(pixels[at + 2], alpha),
                    ]
                }
            };
            pixels[out..out + 3].copy_from_slice(&rgb);
            out += 3;
        }
    }
    pixels.truncate(out);
    pixels.shrink_to_fit();
    RgbImage::from_raw(width, height, pixels)
}

/// Turns `image` upright by its EXIF `orientation` (1–8, as the camera wrote it).
fn orient(image: RgbImage, orientation: u16) -> RgbImage {
    match orientation {
        2 => imageops::flip_horizontal(&image),
        3 => imageops::rotate180(&image),
        4 => imageops::flip_vertical(&image),
        5 => imageops::flip_horizontal(&imageops::rotate90(&image)),
        6 => imageops::rotate90(&image),
        7 => imageops::flip_horizontal(&imageops::rotate270(&image)),
        8 => imageops::rotate270(&image),
        _ => image,
    }
}

fn encode(image: &RgbImage, quality: u8) -> Result<Encoded, Refusal> {
    let mut bytes = Vec::with_capacity(image.as_raw().len() / 8);
    let encoder = jpeg_encoder::Encoder::new(&mut bytes, quality);
    encoder
        .encode(
            image.as_raw(),
            image.width() as u16,
            image.height() as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .map_err(|error| Refusal::Unusable(format!("The photo could not be saved: {error}")))?;
    Ok(Encoded {
        rendition: Rendition {
            digest: Digest::of(&bytes),
            width: image.width(),
            height: image.height(),
        },
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `width` × `height` JPEG with red in its stored top-left corner, from the encoder
    /// this module uses, with an EXIF block of `orientation` after its SOI.
    fn jpeg(width: u32, height: u32, orientation: u16) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, y| {
            if x < width / 2 && y < height / 2 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let plain = encode(&image, 90).unwrap().bytes;
        let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
        exif.extend_from_slice(&orientation.to_le_bytes());
        exif.extend_from_slice(b"\0\0\0\0\0\0GPS-SECRET");
        let mut bytes = plain[..2].to_vec();
        bytes.extend_from_slice(&[0xFF, 0xE1]);
        bytes.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        bytes.extend_from_slice(&exif);
        bytes.extend_from_slice(&plain[2..]);
        bytes
    }

    fn decode(bytes: &[u8]) -> RgbImage {
        decode_jpeg(bytes, "").unwrap().image
    }

    #[test]
    fn a_large_photo_shrinks_and_turns_upright_and_loses_its_metadata() {
        let upload = jpeg(2400, 1800, 6);
        assert!(upload.windows(10).any(|w| w == b"GPS-SECRET"));
        let processed = process(&upload, "phone.jpg").unwrap();
        assert_eq!(processed.display.rendition.width, 1200);
        assert_eq!(processed.display.rendition.height, 1600);
        let display = decode(&processed.display.bytes);
        // Stored top-left (red) is shown top-right after a quarter turn clockwise.
        assert!(display.get_pixel(1100, 100).0[0] > 200);
        assert!(display.get_pixel(100, 100).0[2] > 200);
        for bytes in [&processed.display.bytes, &processed.thumbnail.bytes] {
            assert!(!bytes.windows(4).any(|w| w == b"Exif"));
            assert!(!bytes.windows(10).any(|w| w == b"GPS-SECRET"));
        }
        assert_eq!(
            (
                processed.thumbnail.rendition.width,
                processed.thumbnail.rendition.height
            ),
            (400, 300)
        );
        assert_eq!(
            processed.display.rendition.digest,
            Digest::of(&processed.display.bytes)
        );
    }

    #[test]
    fn a_small_photo_is_never_upscaled() {
        let processed = process(&jpeg(320, 240, 1), "").unwrap();
        assert_eq!(
            (
                processed.display.rendition.width,
                processed.display.rendition.height
            ),
            (320, 240)
        );
        assert_eq!(processed.thumbnail.rendition.width, 320);
    }

    #[test]
    fn damaged_and_unsupported_files_are_refused_with_the_reason() {
        let whole = jpeg(800, 600, 1);
        let cut = &whole[..whole.len() * 6 / 10];
        let refusal = process(cut, "cut.jpg").unwrap_err();
        assert!(matches!(refusal, Refusal::Unusable(_)), "{refusal}");
        assert!(refusal.message().contains("cut short"), "{refusal}");
        let refusal = process(b"GIF89a\x01\0\x01\0", "a.gif").unwrap_err();
        assert!(matches!(refusal, Refusal::Unsupported(_)), "{refusal}");
    }

    #[test]
    fn transparency_is_laid_on_white_and_grey_becomes_rgb() {
        let image = to_rgb(vec![0, 0, 0, 0, 255, 0, 0, 255], 2, 1, 4, 8).unwrap();
        assert_eq!(image.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(image.get_pixel(1, 0).0, [255, 0, 0]);
        // Grey rows padded to 4 bytes (a PNG line), and grey with alpha.
        let grey = to_rgb(vec![10, 20, 30, 0, 40, 50, 60, 0], 3, 2, 1, 4).unwrap();
        assert_eq!(grey.get_pixel(2, 1).0, [60, 60, 60]);
        let grey_alpha = to_rgb(vec![0, 0, 100, 255], 2, 1, 2, 4).unwrap();
        assert_eq!(grey_alpha.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(grey_alpha.get_pixel(1, 0).0, [100, 100, 100]);
    }
}
