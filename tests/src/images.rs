//! Real image files for the photo-upload tests, made in code when a test runs (the repository
//! holds no image files): a phone-camera JPEG full of metadata that must be stripped, small
//! PNG and WebP files, animated PNG and WebP files, and the bad inputs an upload has to refuse
//! (a HEIC header, a cut-off JPEG, a GIF, a PNG that claims 50,000 × 50,000 pixels, markup).
//!
//! How EXIF orientation moves the two coloured quadrants of [`phone_jpeg`]. The stored pixels
//! have a red top-left quadrant and a blue top-right quadrant; a viewer that applies the
//! orientation shows them here:
//!
//! | orientation | turn to display            | red ends up at | blue ends up at |
//! |-------------|----------------------------|----------------|-----------------|
//! | 1           | none                       | top-left       | top-right       |
//! | 3           | 180°                       | bottom-right   | bottom-left     |
//! | 6           | 90° clockwise (w, h swap)  | top-right      | bottom-right    |
//! | 8           | 90° anticlockwise (swap)   | bottom-left    | top-left        |
//!
//! So a test that finds red at the top-left of an orientation-6 photo knows the orientation
//! was ignored.

use image::ExtendedColorType::{self, Rgb8, Rgba8};
use image::ImageEncoder;

/// Byte strings from [`phone_jpeg`]'s metadata that must never appear in a cleaned image:
/// the camera make, model and serial number, the XMP and IPTC texts, and the headers that
/// start the EXIF, XMP and IPTC segments.
pub const SECRETS: &[&[u8]] = &[
    b"TestPhone",
    b"Model X",
    b"SN-1234567890",
    b"xmp-secret-location",
    b"iptc-secret-byline",
    b"Exif\0\0",
    b"http://ns.adobe.com/xap",
    b"Photoshop 3.0",
];

/// The stored pixels of [`phone_jpeg`] (RGB): a red top-left quadrant, a blue top-right
/// quadrant and a grey-brown gradient below, all with noise so the JPEG is as big as a
/// phone's (a flat picture would compress to almost nothing).
fn phone_pixels(width: u32, height: u32) -> Vec<u8> {
    // xorshift64 with a fixed seed, so every run makes the same bytes
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = state;
            let small = |shift: u32| ((n >> shift) & 0x07) as u8;
            let noise = |shift: u32| ((n >> shift) & 0x1F) as i32 - 16;
            let pixel = if y < height / 2 && x < width / 2 {
                [255 - small(0), small(8), small(16)]
            } else if y < height / 2 {
                [small(0), small(8), 255 - small(16)]
            } else {
                let base = (60 + x * 100 / width + y * 60 / height) as i32;
                let channel =
                    |offset: i32, shift: u32| (base + offset + noise(shift)).clamp(0, 255) as u8;
                [channel(20, 0), channel(0, 8), channel(-20, 16)]
            };
            pixels.extend_from_slice(&pixel);
        }
    }
    pixels
}

fn encode_jpeg(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode(pixels, width, height, Rgb8)
        .expect("encode the JPEG");
    out
}

/// One TIFF directory entry: tag, field type (1 BYTE, 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL),
/// count of values, and the values as little-endian bytes.
struct Entry(u16, u16, u32, Vec<u8>);

fn ascii(tag: u16, text: &str) -> Entry {
    let mut value = text.as_bytes().to_vec();
    value.push(0);
    Entry(tag, 2, value.len() as u32, value)
}

fn long(tag: u16, value: u32) -> Entry {
    Entry(tag, 4, 1, value.to_le_bytes().to_vec())
}

fn rationals(tag: u16, values: &[(u32, u32)]) -> Entry {
    let bytes = values
        .iter()
        .flat_map(|&(n, d)| [n, d])
        .flat_map(u32::to_le_bytes);
    Entry(tag, 5, values.len() as u32, bytes.collect())
}

/// A TIFF directory that starts `start` bytes into the TIFF data: the entry count, the
/// entries, a zero next-directory offset, then the values longer than four bytes (each at an
/// even offset). A value of four bytes or fewer sits in the entry itself, left-aligned.
fn ifd(start: u32, entries: &[Entry]) -> Vec<u8> {
    let data_start = start + 2 + 12 * entries.len() as u32 + 4;
    let (mut dir, mut data) = (Vec::new(), Vec::new());
    dir.extend((entries.len() as u16).to_le_bytes());
    for Entry(tag, kind, count, value) in entries {
        dir.extend(tag.to_le_bytes());
        dir.extend(kind.to_le_bytes());
        dir.extend(count.to_le_bytes());
        if value.len() <= 4 {
            dir.extend(value.iter().chain(&[0; 4]).take(4));
        } else {
            dir.extend((data_start + data.len() as u32).to_le_bytes());
            data.extend(value);
            data.resize(data.len().next_multiple_of(2), 0);
        }
    }
    dir.extend(0u32.to_le_bytes());
    dir.extend(data);
    dir
}

/// The EXIF data (a little-endian TIFF): IFD0 with make, model, orientation and pointers to
/// the Exif directory (serial number) and, with `with_gps`, a GPS directory (52°31′N 13°24′E).
fn exif_tiff(orientation: u16, with_gps: bool) -> Vec<u8> {
    let ifd0 = |exif_at: u32, gps_at: u32| {
        let mut entries = vec![
            ascii(0x010F, "TestPhone"),
            ascii(0x0110, "Model X"),
            Entry(0x0112, 3, 1, orientation.to_le_bytes().to_vec()),
            long(0x8769, exif_at),
        ];
        if with_gps {
            entries.push(long(0x8825, gps_at));
        }
        ifd(8, &entries)
    };
    let exif_at = 8 + ifd0(0, 0).len() as u32;
    let exif = ifd(exif_at, &[ascii(0xA431, "SN-1234567890")]);
    let gps_at = exif_at + exif.len() as u32;
    let mut tiff = [&b"II*\0\x08\0\0\0"[..], &ifd0(exif_at, gps_at), &exif].concat();
    if with_gps {
        tiff.extend(ifd(
            gps_at,
            &[
                Entry(0x0000, 1, 4, vec![2, 3, 0, 0]),
                ascii(0x0001, "N"),
                rationals(0x0002, &[(52, 1), (31, 1), (0, 1)]),
                ascii(0x0003, "E"),
                rationals(0x0004, &[(13, 1), (24, 1), (0, 1)]),
            ],
        ));
    }
    tiff
}

/// A JPEG marker segment: FF, the marker, the big-endian length (which counts itself), data.
fn segment(marker: u8, parts: &[&[u8]]) -> Vec<u8> {
    let length = u16::try_from(2 + parts.concat().len()).expect("a segment fits in 64 KiB");
    [&[0xFF, marker][..], &length.to_be_bytes(), &parts.concat()].concat()
}

/// A baseline JPEG (quality 92) as a phone camera writes it, for the upload pipeline's tests
/// of metadata stripping, orientation and size limits.
///
/// The pixels are noisy, so a 4032 × 3024 photo is 3–6 MB like a real one. The stored (not
/// displayed) pixels have a red top-left quadrant and a blue top-right quadrant, so a test
/// can tell whether the EXIF orientation was applied (see the table at the top of this
/// module). Right after the start-of-image marker come three segments holding everything in
/// [`SECRETS`]: APP1 EXIF (orientation, make "TestPhone", model "Model X", serial number
/// "SN-1234567890" and, if `with_gps`, a GPS position in Berlin), APP1 XMP (with
/// "xmp-secret-location") and APP13 IPTC (with the by-line "iptc-secret-byline").
pub fn phone_jpeg(width: u32, height: u32, orientation: u16, with_gps: bool) -> Vec<u8> {
    let jpeg = encode_jpeg(&phone_pixels(width, height), width, height);
    let xmp = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
        <x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
        xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" \
        xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\" \
        photoshop:City=\"xmp-secret-location\"/></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>";
    // IPTC records 2:00 (record version 4) and 2:80 (by-line), in a Photoshop resource 0x0404
    // with an empty name (two zero bytes) and an even-padded length.
    let iptc = b"\x1C\x02\x00\x00\x02\x00\x04\x1C\x02\x50\x00\x12iptc-secret-byline";
    let mut resource = b"8BIM\x04\x04\0\0".to_vec();
    resource.extend((iptc.len() as u32).to_be_bytes());
    resource.extend(iptc);
    resource.resize(resource.len().next_multiple_of(2), 0);
    let tiff = exif_tiff(orientation, with_gps);
    let exif = segment(0xE1, &[b"Exif\0\0", &tiff]);
    let xmp = segment(0xE1, &[b"http://ns.adobe.com/xap/1.0/\0", xmp.as_bytes()]);
    let iptc = segment(0xED, &[b"Photoshop 3.0\0", &resource]);
    [&jpeg[..2], &exif, &xmp, &iptc, &jpeg[2..]].concat()
}

fn encode_png(pixels: &[u8], width: u32, height: u32, colour: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(pixels, width, height, colour)
        .expect("encode the PNG");
    out
}

/// An RGB gradient, with a channel of colour per corner.
fn gradient(width: u32, height: u32, blue: u8) -> Vec<u8> {
    let (w, h) = (width.max(2) - 1, height.max(2) - 1);
    (0..height)
        .flat_map(|y| {
            (0..width).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, blue])
        })
        .collect()
}

/// A plain RGB PNG (a gradient): the ordinary, acceptable small upload.
pub fn small_png(width: u32, height: u32) -> Vec<u8> {
    encode_png(&gradient(width, height, 128), width, height, Rgb8)
}

/// An RGBA PNG whose left half is opaque and right half fully transparent, for the tests of
/// what the pipeline does with transparency (e.g. when converting to JPEG).
pub fn png_with_alpha(width: u32, height: u32) -> Vec<u8> {
    let alpha = |i: usize| if i as u32 % width < width / 2 { 255 } else { 0 };
    let rgb = gradient(width, height, 128);
    let rgba = rgb
        .chunks(3)
        .enumerate()
        .flat_map(|(i, p)| [p[0], p[1], p[2], alpha(i)]);
    encode_png(&rgba.collect::<Vec<u8>>(), width, height, Rgba8)
}

/// A still WebP (lossless, the only kind the `image` crate writes) of a gradient: an
/// acceptable upload in a format browsers and phones send.
pub fn webp(width: u32, height: u32) -> Vec<u8> {
    webp_from(&gradient(width, height, 64), width, height, Rgb8)
}

fn webp_from(pixels: &[u8], width: u32, height: u32, colour: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .encode(pixels, width, height, colour)
        .expect("encode the WebP");
    out
}

/// CRC-32 (ISO-HDLC, as PNG uses), bit by bit: slow, but the inputs are small.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Appends one PNG chunk: length, type, data, CRC-32 of type and data.
fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = (data.len() as u32).to_be_bytes();
    out.extend([&length[..], kind, data, &crc32(&[kind, data]).to_be_bytes()].concat());
}

/// The IHDR data and the joined IDAT data (the zlib stream) of a PNG.
fn png_parts(png: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut ihdr, mut idat, mut at) = (Vec::new(), Vec::new(), 8);
    while at + 12 <= png.len() {
        let length = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let data = &png[at + 8..at + 8 + length];
        match &png[at + 4..at + 8] {
            b"IHDR" => ihdr = data.to_vec(),
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + length;
    }
    (ihdr, idat)
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A real animated PNG (APNG) of two 32 × 32 frames, red then blue, half a second each,
/// looping; for the tests that animations are refused or flattened. Built chunk by chunk:
/// IHDR, acTL, fcTL, IDAT (frame 1, also the still image), fcTL, fdAT (frame 2), IEND; the
/// frames' zlib data comes from PNGs the `image` crate encodes.
pub fn animated_png() -> Vec<u8> {
    let (ihdr, red) = png_parts(&small_png_coloured(255, 0, 0));
    let (_, blue) = png_parts(&small_png_coloured(0, 0, 255));
    let frame_control = |sequence: u32| {
        let mut fctl: Vec<u8> = [sequence, 32, 32, 0, 0].map(u32::to_be_bytes).concat();
        fctl.extend([0, 1, 0, 2, 0, 0]); // delay 1/2 s, no disposal, source blend
        fctl
    };
    let mut out = PNG_SIGNATURE.to_vec();
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"acTL", &[0, 0, 0, 2, 0, 0, 0, 0]); // 2 frames, loop for ever
    png_chunk(&mut out, b"fcTL", &frame_control(0));
    png_chunk(&mut out, b"IDAT", &red);
    png_chunk(&mut out, b"fcTL", &frame_control(1));
    png_chunk(&mut out, b"fdAT", &[&[0, 0, 0, 2][..], &blue].concat()); // sequence 2
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn small_png_coloured(r: u8, g: u8, b: u8) -> Vec<u8> {
    encode_png(&[r, g, b].repeat(32 * 32), 32, 32, Rgb8)
}

/// Appends one RIFF chunk: FourCC, little-endian size, data, a zero byte if the size is odd.
fn riff_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
    out.extend([&fourcc[..], &(data.len() as u32).to_le_bytes(), data].concat());
    out.extend(&[0][..data.len() % 2]);
}

/// The 24-bit little-endian numbers of the VP8X and ANMF chunks.
fn u24(value: u32) -> [u8; 3] {
    let [a, b, c, _] = value.to_le_bytes();
    [a, b, c]
}

/// A real animated WebP of two 32 × 32 frames, green then yellow, half a second each,
/// looping; for the tests that animations are refused or flattened. RIFF/WEBP holding VP8X
/// (animation and alpha flags, canvas size), ANIM (background, loop count) and two ANMF
/// frames, each wrapping the VP8L chunk of a still WebP the `image` crate encodes.
pub fn animated_webp() -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    let vp8x = [&[0x12, 0, 0, 0][..], &u24(31), &u24(31)].concat(); // flags, canvas size
    riff_chunk(&mut body, b"VP8X", &vp8x);
    riff_chunk(&mut body, b"ANIM", &[0, 0, 0, 0, 0, 0]); // transparent background, loop for ever
    for rgba in [[0, 200, 0, 255], [255, 220, 0, 255]] {
        let still = webp_from(&rgba.repeat(32 * 32), 32, 32, Rgba8);
        let mut frame = [u24(0), u24(0), u24(31), u24(31), u24(500)].concat();
        frame.push(0b10); // do not blend, do not dispose
        riff_chunk(&mut frame, b"VP8L", vp8l_payload(&still));
        riff_chunk(&mut body, b"ANMF", &frame);
    }
    let mut out = Vec::new();
    riff_chunk(&mut out, b"RIFF", &body);
    out
}

/// The VP8L chunk's data in a still WebP.
fn vp8l_payload(webp: &[u8]) -> &[u8] {
    let mut at = 12;
    while at + 8 <= webp.len() {
        let size = u32::from_le_bytes(webp[at + 4..at + 8].try_into().unwrap()) as usize;
        if &webp[at..at + 4] == b"VP8L" {
            return &webp[at + 8..at + 8 + size];
        }
        at += 8 + size + size % 2;
    }
    panic!("the still WebP has no VP8L chunk");
}

/// The first bytes of an iPhone HEIC photo: the `ftyp` box (brand "heic", compatible "mif1"
/// and "heic") and the start of the `meta` box (its `hdlr` "pict" and `pitm` boxes). It does
/// not decode; it is for the tests that an upload is recognised as HEIC by its bytes.
pub fn heic_header() -> Vec<u8> {
    let ftyp = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
    let hdlr = b"\0\0\0\x21hdlr\0\0\0\0\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0";
    let pitm = b"\0\0\0\x0epitm\0\0\0\0\0\x01";
    let meta_size = (12 + hdlr.len() + pitm.len()) as u32;
    let meta = [&meta_size.to_be_bytes()[..], b"meta\0\0\0\0", hdlr, pitm].concat();
    [&ftyp[..], &meta].concat()
}

/// An 800 × 600 JPEG cut off at 60% of its length (no end-of-image marker, scan data
/// missing), as an interrupted upload leaves it.
pub fn truncated_jpeg() -> Vec<u8> {
    let mut jpeg = encode_jpeg(&phone_pixels(800, 600), 800, 600);
    jpeg.truncate(jpeg.len() * 6 / 10);
    jpeg
}

/// A valid 1 × 1 GIF89a (one red pixel), a format the upload does not take.
pub fn gif() -> Vec<u8> {
    // header, 1 × 1 screen with a 2-colour table (red, black), graphic control extension,
    // image descriptor, LZW data (clear, index 0, end), trailer
    b"GIF89a\x01\0\x01\0\x80\0\0\xff\0\0\0\0\0\
      \x21\xf9\x04\0\0\0\0\0\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0\x3b"
        .to_vec()
}

/// A small PNG (about 13 KB) whose IHDR declares 50,000 × 50,000 8-bit RGB pixels (7.5 GB
/// decoded), with valid CRCs; its IDAT is the start of a zlib stream of zeros (fixed-Huffman
/// runs of 258 zero bytes, each 13 bits), not finished. For the tests that the pipeline
/// checks the declared size before decoding.
pub fn decompression_bomb_png() -> Vec<u8> {
    let mut ihdr = [50_000u32.to_be_bytes(), 50_000u32.to_be_bytes()].concat();
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, adaptive filters, no interlace
    let (mut zlib, mut bits, mut count) = (vec![0x78, 0x9C], 0u32, 0u32);
    // Deflate bits go in least-significant first; Huffman codes most-significant bit first.
    let mut put = |zlib: &mut Vec<u8>, value: u32, width: u32, huffman: bool| {
        for i in 0..width {
            let bit = (value >> if huffman { width - 1 - i } else { i }) & 1;
            bits |= bit << count;
            count += 1;
            if count == 8 {
                zlib.push(bits as u8);
                (bits, count) = (0, 0);
            }
        }
    };
    put(&mut zlib, 0b010, 3, false); // not the last block, fixed Huffman codes
    put(&mut zlib, 0b0011_0000, 8, true); // literal 0
    for _ in 0..8_000 {
        put(&mut zlib, 0b1100_0101, 8, true); // length 258 (code 285)
        put(&mut zlib, 0, 5, true); // distance 1 (code 0)
    }
    put(&mut zlib, 0, 7, false); // pad to a whole byte
    let mut out = PNG_SIGNATURE.to_vec();
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &zlib);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// SVG markup with a script, for the tests that uploaded markup is never stored or served
/// (whatever the file name or declared type says, e.g. "photo.png" / image/png).
pub fn svg_disguised_as_png() -> Vec<u8> {
    b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec()
}

/// Decodes an image with the `image` crate (format guessed from the bytes, no orientation
/// applied); panics, saying why, if it does not decode.
pub fn decode(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes)
        .unwrap_or_else(|e| panic!("{} bytes that do not decode as an image: {e}", bytes.len()))
}

/// The mean colour of the rectangle from (x0, y0) up to but not including (x1, y1), e.g. to
/// find where [`phone_jpeg`]'s red and blue quadrants ended up.
pub fn dominant_colour(image: &image::RgbImage, x0: u32, y0: u32, x1: u32, y1: u32) -> [u8; 3] {
    let mut sum = [0u64; 3];
    for y in y0..y1 {
        for x in x0..x1 {
            let pixel = image.get_pixel(x, y).0;
            (0..3).for_each(|c| sum[c] += u64::from(pixel[c]));
        }
    }
    let count = (u64::from(x1 - x0) * u64::from(y1 - y0)).max(1);
    sum.map(|total| (total / count) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::{jpeg::JpegDecoder, png::PngDecoder, webp::WebPDecoder};
    use image::{AnimationDecoder, ImageDecoder, metadata::Orientation};
    use std::io::Cursor;

    /// The entries (tag, the four value bytes as a little-endian number) of the TIFF
    /// directory at `offset` (IFD0 if `None`) in the EXIF segment of `jpeg`: a reader
    /// independent of the writer above.
    fn exif_entries(jpeg: &[u8], offset: Option<u32>) -> Vec<(u16, u32)> {
        let mut at = 2;
        while jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
            let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            let data = &jpeg[at + 4..at + 2 + length];
            if let (0xE1, Some(tiff)) = (jpeg[at + 1], data.strip_prefix(b"Exif\0\0")) {
                assert_eq!(&tiff[..4], b"II*\0");
                let u16_at = |i: usize| u16::from_le_bytes([tiff[i], tiff[i + 1]]);
                let u32_at = |i: usize| u32::from_le_bytes(tiff[i..i + 4].try_into().unwrap());
                let dir = offset.unwrap_or_else(|| u32_at(4)) as usize;
                let entry = |k: usize| (u16_at(dir + 2 + 12 * k), u32_at(dir + 10 + 12 * k));
                return (0..usize::from(u16_at(dir))).map(entry).collect();
            }
            at += 2 + length;
        }
        panic!("no EXIF segment before the scan");
    }

    /// The mean colours of the middles of the quadrants: top-left, top-right, bottom-left,
    /// bottom-right; each checked against red and blue.
    fn quadrants(image: &image::RgbImage) -> [(bool, bool); 4] {
        let (w, h) = image.dimensions();
        let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(a, b)| a.abs_diff(b) < 40);
        [(0, 0), (w / 2, 0), (0, h / 2), (w / 2, h / 2)].map(|(x, y)| {
            let colour = dominant_colour(image, x + w / 8, y + h / 8, x + w * 3 / 8, y + h * 3 / 8);
            (near(colour, [255, 0, 0]), near(colour, [0, 0, 255]))
        })
    }

    /// The one full-size photo (slow in a debug build, so made only once).
    #[test]
    fn phone_jpeg_is_the_size_of_a_real_photo_and_carries_every_secret() {
        let jpeg = phone_jpeg(4032, 3024, 6, true);
        let size = jpeg.len();
        println!("phone_jpeg(4032, 3024, 6, true): {size} bytes");
        assert!((3_000_000..6_000_000).contains(&size), "{size} bytes");
        let found = |secret: &&[u8]| jpeg.windows(secret.len()).any(|w| w == *secret);
        assert!(SECRETS.iter().all(found));
        let stored = decode(&jpeg).to_rgb8();
        assert_eq!(stored.dimensions(), (4032, 3024));
        let [(red, _), (_, blue), ..] = quadrants(&stored);
        assert!(red && blue, "stored: red top-left, blue top-right");
    }

    #[test]
    fn exif_reads_back_and_orientation_moves_the_quadrants_as_documented() {
        // Where red and blue are shown, as indices into `quadrants`.
        for (orientation, red, blue) in [(1, 0, 1), (3, 3, 2), (6, 1, 3), (8, 2, 0)] {
            let jpeg = phone_jpeg(64, 48, orientation, orientation == 6);
            let entries = exif_entries(&jpeg, None);
            let value = |tag: u16| entries.iter().find(|e| e.0 == tag).map(|e| e.1);
            assert_eq!(value(0x0112), Some(u32::from(orientation)));
            let exif = exif_entries(&jpeg, value(0x8769));
            assert_eq!(exif[0].0, 0xA431);
            assert_eq!(value(0x8825).is_some(), orientation == 6);
            if let Some(offset) = value(0x8825) {
                let gps = exif_entries(&jpeg, Some(offset));
                let (north, east) = ((1, u32::from(b'N')), (3, u32::from(b'E')));
                assert_eq!((gps[1], gps[3]), (north, east));
            }

            let mut decoder = JpegDecoder::new(Cursor::new(&jpeg)).unwrap();
            let found = decoder.orientation().unwrap();
            assert_eq!(Some(found), Orientation::from_exif(orientation as u8));
            let mut shown = image::DynamicImage::from_decoder(decoder).unwrap();
            shown.apply_orientation(found);
            let quadrants = quadrants(&shown.to_rgb8());
            let (red, blue) = (quadrants[red].0, quadrants[blue].1);
            assert!(red && blue, "{orientation}: {quadrants:?}");
        }
    }

    #[test]
    fn still_images_decode() {
        assert_eq!(decode(&small_png(40, 30)).color(), image::ColorType::Rgb8);
        let alpha = decode(&png_with_alpha(40, 30)).to_rgba8();
        let (left, right) = (alpha.get_pixel(0, 0)[3], alpha.get_pixel(39, 0)[3]);
        assert_eq!((left, right), (255, 0));
        assert_eq!(decode(&webp(40, 30)).to_rgb8().dimensions(), (40, 30));
        assert!(gif().starts_with(b"GIF89a") && &heic_header()[4..12] == b"ftypheic");
    }

    #[test]
    fn animations_have_two_frames() {
        let decoder = PngDecoder::new(Cursor::new(animated_png())).unwrap();
        assert!(decoder.is_apng().unwrap());
        let animation = decoder.apng().unwrap();
        let frames = animation.into_frames().collect_frames().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].buffer().get_pixel(5, 5).0, [0, 0, 255, 255]);

        let decoder = WebPDecoder::new(Cursor::new(animated_webp())).unwrap();
        assert!(decoder.has_animation());
        let frames = decoder.into_frames().collect_frames().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].buffer().get_pixel(5, 5).0, [255, 220, 0, 255]);
    }

    #[test]
    fn bad_inputs_are_what_they_claim() {
        let bomb = decompression_bomb_png();
        assert!(bomb.len() < 100 * 1024, "{} bytes", bomb.len());
        assert_eq!(&bomb[12..16], b"IHDR");
        let number = |i: usize| u32::from_be_bytes(bomb[i..i + 4].try_into().unwrap());
        assert_eq!((number(16), number(20)), (50_000, 50_000));
        assert_eq!(number(29), crc32(&[&bomb[12..29]]));

        // Cut short: no end-of-image marker. The `image` crate (zune-jpeg, lenient mode)
        // still decodes it, filling in the missing part, so a decode error cannot be how an
        // upload pipeline built on it notices truncation.
        let truncated = truncated_jpeg();
        assert!(!truncated.ends_with(&[0xFF, 0xD9]));
        assert!(image::load_from_memory(&truncated).is_ok());
        assert!(image::load_from_memory(&svg_disguised_as_png()).is_err());
    }
}
