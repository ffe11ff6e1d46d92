//! Tests of `web::multipart` and `web::multipart_headers`.

use super::*;
use crate::web::multipart_headers::{decode_ext_value, size_text, split_header_value};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

const BOUNDARY: &str = "----formBoundary7MA4YWxkTrZu0gW";

const LIMITS: Limits = Limits {
    max_file_bytes: 10 * MIB,
    max_field_bytes: 64 * KIB,
    max_parts: 20,
};

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A part to send: `(name, filename, content type, content)`.
type PartSpec<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A form body as a browser builds it.
fn body(parts: &[PartSpec]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(filename) = filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A reader that gives at most `chunk` bytes per read, and counts what it gave.
struct ChunkReader {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
}

impl ChunkReader {
    fn new(data: Vec<u8>, chunk: usize) -> Self {
        Self {
            data,
            pos: 0,
            chunk,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Every part of a body, or the first error.
fn read_all(
    reader: impl Read,
    content_type: &str,
    limits: Limits,
) -> Result<Vec<Part>, MultipartError> {
    let mut form = Multipart::new(reader, content_type, limits)?;
    let mut parts = Vec::new();
    while let Some(part) = form.next_part()? {
        parts.push(part);
    }
    Ok(parts)
}

fn field(name: &str, value: &str) -> Part {
    Part {
        name: name.to_string(),
        filename: None,
        content_type: None,
        bytes: value.as_bytes().to_vec(),
    }
}

fn file(name: &str, filename: &str, content_type: &str, bytes: &[u8]) -> Part {
    Part {
        name: name.to_string(),
        filename: Some(filename.to_string()),
        content_type: Some(content_type.to_string()),
        bytes: bytes.to_vec(),
    }
}

/// Two fields and two files whose content looks like boundaries without being one.
fn tricky_form() -> (Vec<u8>, Vec<Part>) {
    let mut photo: Vec<u8> = (0..=255).collect();
    photo.extend_from_slice(b"\r\n--");
    photo.extend_from_slice(b"\r\n--");
    photo.extend_from_slice(&BOUNDARY.as_bytes()[..10]);
    photo.extend_from_slice(b"\r\n-\r\r\n\r\nx");
    photo.extend_from_slice(format!("--{BOUNDARY}").as_bytes());
    photo.extend_from_slice(b"\r\n\r\n--\r");
    let second: Vec<u8> = format!("\r\n--{}", &BOUNDARY[..BOUNDARY.len() - 1])
        .bytes()
        .chain((0..5000u32).map(|i| (i * 7 % 251) as u8))
        .collect();
    let expected = vec![
        field("title", "Red bicycle"),
        field("description", "Fast.\r\n--Barely used--\r\n"),
        file("photo", "front.jpg", "image/jpeg", &photo),
        file("photo", "side.png", "image/png", &second),
    ];
    let mut body = b"This is the preamble.\r\n".to_vec();
    body.extend(body_of(&expected));
    body.extend_from_slice(b"This is the epilogue.\r\n--");
    (body, expected)
}

fn body_of(parts: &[Part]) -> Vec<u8> {
    let parts: Vec<_> = parts
        .iter()
        .map(|part| {
            (
                part.name.as_str(),
                part.filename.as_deref(),
                part.content_type.as_deref(),
                part.bytes.as_slice(),
            )
        })
        .collect();
    body(&parts)
}

#[test]
fn multipart_fields_and_files_round_trip_exactly() {
    let (body, expected) = tricky_form();
    let parts = read_all(body.as_slice(), &content_type(), LIMITS).unwrap();
    assert_eq!(parts, expected);
    assert_eq!(parts[0].text(), Some("Red bicycle"));
    assert!(!parts[0].is_file());
    assert!(parts[2].is_file());
    assert!(!parts[2].is_empty_file_input());
    assert_eq!(parts[2].text(), None);
}

#[test]
fn multipart_reads_the_same_parts_whatever_the_read_sizes() {
    let (body, expected) = tricky_form();
    for chunk in [1, 2, 3, 7, 33, 64 * KIB, usize::MAX] {
        let reader = ChunkReader::new(body.clone(), chunk);
        let parts = read_all(reader, &content_type(), LIMITS).unwrap();
        assert_eq!(parts, expected, "reads of {chunk} bytes");
    }
}

#[test]
fn multipart_keeps_an_empty_file_input() {
    let body = body(&[
        ("title", None, None, b"Lamp"),
        ("photo", Some(""), Some("application/octet-stream"), b""),
    ]);
    let parts = read_all(body.as_slice(), &content_type(), LIMITS).unwrap();
    assert_eq!(parts.len(), 2);
    assert!(parts[1].is_file());
    assert!(parts[1].is_empty_file_input());
    assert_eq!(parts[1].filename.as_deref(), Some(""));
    assert!(parts[1].bytes.is_empty());
    assert_eq!(parts[0].text(), Some("Lamp"));
}

#[test]
fn multipart_refuses_a_large_file_without_reading_the_rest() {
    let limits = Limits {
        max_file_bytes: 100 * KIB,
        ..LIMITS
    };
    let big = vec![b'x'; MIB];
    let body = body(&[
        ("title", None, None, b"Lamp"),
        ("photo", Some("lamp.jpg"), Some("image/jpeg"), &big),
        ("photo", Some("other.jpg"), Some("image/jpeg"), b"small"),
    ]);
    let mut reader = ChunkReader::new(body, usize::MAX);
    let mut form = Multipart::new(&mut reader, &content_type(), limits).unwrap();
    assert_eq!(form.next_part().unwrap().unwrap().name, "title");
    let error = form.next_part().unwrap_err();
    assert_eq!(
        error,
        MultipartError::FileTooLarge {
            field: "photo".to_string(),
            filename: "lamp.jpg".to_string(),
            limit: 100 * KIB,
        }
    );
    assert_eq!(form.next_part().unwrap_err(), error, "the error sticks");
    drop(form);
    assert!(
        reader.pos <= 100 * KIB + 2 * CHUNK,
        "read {} of {} bytes",
        reader.pos,
        reader.data.len()
    );
    let message = error.message();
    assert!(message.contains("lamp.jpg"), "{message}");
    assert!(message.contains("photo"), "{message}");
    assert!(message.contains("100 KiB"), "{message}");
}

#[test]
fn multipart_accepts_a_file_of_exactly_the_limit() {
    let limits = Limits {
        max_file_bytes: 1000,
        ..LIMITS
    };
    let content = vec![7; 1000];
    let body = body(&[("photo", Some("a.jpg"), Some("image/jpeg"), &content)]);
    for chunk in [1, 7, usize::MAX] {
        let parts = read_all(
            ChunkReader::new(body.clone(), chunk),
            &content_type(),
            limits,
        );
        assert_eq!(parts.unwrap()[0].bytes, content);
    }
    let longer = vec![7; 1001];
    let body = self::body(&[("photo", Some("a.jpg"), Some("image/jpeg"), &longer)]);
    for chunk in [1, 7, usize::MAX] {
        let error = read_all(
            ChunkReader::new(body.clone(), chunk),
            &content_type(),
            limits,
        );
        assert!(matches!(error, Err(MultipartError::FileTooLarge { .. })));
    }
}

#[test]
fn multipart_counts_text_fields_together() {
    let limits = Limits {
        max_field_bytes: 1000,
        ..LIMITS
    };
    let value = "a".repeat(600);
    let photo = vec![1; 5000];
    let fits = body(&[
        ("title", None, None, value.as_bytes()),
        ("photo", Some("a.jpg"), None, &photo),
        ("tags", None, None, &value.as_bytes()[..400]),
    ]);
    assert_eq!(
        read_all(fits.as_slice(), &content_type(), limits)
            .unwrap()
            .len(),
        3
    );
    let too_much = body(&[
        ("title", None, None, value.as_bytes()),
        ("description", None, None, value.as_bytes()),
    ]);
    let error = read_all(too_much.as_slice(), &content_type(), limits).unwrap_err();
    assert_eq!(error, MultipartError::FieldsTooLarge { limit: 1000 });
    assert!(
        error.message().contains("1000 bytes"),
        "{}",
        error.message()
    );
}

#[test]
fn multipart_refuses_too_many_parts() {
    let limits = Limits {
        max_parts: 2,
        ..LIMITS
    };
    let body = body(&[
        ("a", None, None, b"1"),
        ("b", None, None, b"2"),
        ("c", None, None, b"3"),
    ]);
    let mut form = Multipart::new(body.as_slice(), &content_type(), limits).unwrap();
    assert!(form.next_part().unwrap().is_some());
    assert!(form.next_part().unwrap().is_some());
    let error = form.next_part().unwrap_err();
    assert_eq!(error, MultipartError::TooManyParts { limit: 2 });
    assert!(error.message().contains('2'));
    let exactly = self::body(&[("a", None, None, b"1"), ("b", None, None, b"2")]);
    assert_eq!(
        read_all(exactly.as_slice(), &content_type(), limits)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn multipart_without_its_closing_boundary_is_malformed() {
    let complete = body(&[("title", None, None, b"Lamp"), ("n", None, None, b"2")]);
    let closing = format!("\r\n--{BOUNDARY}--\r\n").len();
    for cut in [
        complete.len() - closing,
        complete.len() - closing + 2,
        complete.len() - 3,
        complete.len() - 40,
    ] {
        let body = &complete[..cut];
        let error = read_all(body, &content_type(), LIMITS).unwrap_err();
        assert!(
            matches!(error, MultipartError::Malformed(_)),
            "{cut}: {error:?}"
        );
    }
    let cut = &complete[..complete.len() - closing];
    assert_eq!(
        read_all(cut, &content_type(), LIMITS),
        Err(MultipartError::Malformed(
            "the body ends before the closing boundary"
        ))
    );
    // Without its final CRLF the closing boundary is still complete.
    let without_crlf = &complete[..complete.len() - 2];
    assert_eq!(
        read_all(without_crlf, &content_type(), LIMITS)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn multipart_needs_a_multipart_content_type_with_a_boundary() {
    for content_type in [
        "application/x-www-form-urlencoded",
        "multipart/mixed; boundary=abc",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"abc",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=a\u{e9}b",
        "multipart/form-data; boundary=\"trailing \"",
        "",
    ] {
        assert_eq!(boundary(content_type), None, "{content_type}");
        assert!(matches!(
            Multipart::new(&b""[..], content_type, LIMITS),
            Err(MultipartError::NotMultipart)
        ));
    }
    let longest = "b".repeat(70);
    assert_eq!(
        boundary(&format!("multipart/form-data; boundary={longest}")),
        Some(longest.clone())
    );
    let too_long = format!("multipart/form-data; boundary={longest}b");
    assert_eq!(boundary(&too_long), None);
    assert_eq!(
        boundary("Multipart/Form-Data ; Charset=utf-8; BOUNDARY=abc-123 ; x=y"),
        Some("abc-123".to_string())
    );
    assert!(
        MultipartError::NotMultipart
            .message()
            .contains("multipart/form-data")
    );
}

#[test]
fn multipart_accepts_a_quoted_boundary() {
    assert_eq!(
        boundary("multipart/form-data; boundary=\"a b:c=d?\""),
        Some("a b:c=d?".to_string())
    );
    let body = b"--a b:c\r\n\
        Content-Disposition: form-data; name=\"title\"\r\n\r\n\
        Lamp\r\n--a b:c--";
    let parts = read_all(&body[..], "multipart/form-data; boundary=\"a b:c\"", LIMITS).unwrap();
    assert_eq!(parts, vec![field("title", "Lamp")]);
}

#[test]
fn multipart_garbage_is_malformed() {
    let garbage = "just some text without any line ends or boundaries ".repeat(10);
    assert_eq!(
        read_all(garbage.as_bytes(), &content_type(), LIMITS),
        Err(MultipartError::Malformed("no opening boundary"))
    );
    let long_garbage = vec![b'z'; 100 * KIB];
    let mut reader = ChunkReader::new(long_garbage, 1000);
    assert!(matches!(
        read_all(&mut reader, &content_type(), LIMITS),
        Err(MultipartError::Malformed(_))
    ));
    assert!(reader.pos < 20 * KIB, "stopped after {} bytes", reader.pos);
    assert_eq!(
        read_all(&b""[..], &content_type(), LIMITS),
        Err(MultipartError::Malformed("no opening boundary"))
    );
    let message = MultipartError::Malformed("no opening boundary").message();
    assert_eq!(message, "The form could not be read: no opening boundary.");
}

#[test]
fn multipart_refuses_long_headers_and_parts_without_a_disposition() {
    let long = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Long: {}\r\n\r\nv\r\n--{BOUNDARY}--",
        "h".repeat(9000)
    );
    for chunk in [1, 7, usize::MAX] {
        assert_eq!(
            read_all(
                ChunkReader::new(long.clone().into_bytes(), chunk),
                &content_type(),
                LIMITS
            ),
            Err(MultipartError::Malformed("a part's headers are too long"))
        );
    }
    let no_disposition =
        format!("--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nv\r\n--{BOUNDARY}--");
    assert_eq!(
        read_all(no_disposition.as_bytes(), &content_type(), LIMITS),
        Err(MultipartError::Malformed(
            "a part has no Content-Disposition"
        ))
    );
    let no_headers = format!("--{BOUNDARY}\r\n\r\nv\r\n--{BOUNDARY}--");
    assert_eq!(
        read_all(no_headers.as_bytes(), &content_type(), LIMITS),
        Err(MultipartError::Malformed(
            "a part has no Content-Disposition"
        ))
    );
    let no_name = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nv\r\n--{BOUNDARY}--"
    );
    assert_eq!(
        read_all(no_name.as_bytes(), &content_type(), LIMITS),
        Err(MultipartError::Malformed(
            "a part's Content-Disposition has no name"
        ))
    );
}

#[test]
fn multipart_reads_headers_in_any_case_with_escapes_and_padding() {
    let body = format!(
        "--{BOUNDARY} \t\r\n\
         content-disposition: FORM-DATA;NAME=\"a\\\"b\"; FileName=\"C:\\photos\\x \\\\ y.jpg\"\r\n\
         CONTENT-TYPE:  image/jpeg \r\n\
         X-Other: ignored\r\n\
         \r\n\
         jpeg\r\n\
         --{BOUNDARY}\t\r\n\
         Content-Disposition: form-data; name=plain; filename*=UTF-8''caf%C3%A9.png\r\n\
         \r\n\
         png\r\n\
         --{BOUNDARY}\r\n\
         Content-Disposition: form-data; name=\"dir\"; filename=\"photos\\\"\r\n\
         \r\n\
         \r\n\
         --{BOUNDARY}\r\n\
         Content-Disposition: form-data;\r\n name=\"folded\"\r\n\
         \r\n\
         text\r\n\
         --{BOUNDARY}--"
    );
    for chunk in [1, 7, usize::MAX] {
        let parts = read_all(
            ChunkReader::new(body.clone().into_bytes(), chunk),
            &content_type(),
            LIMITS,
        )
        .unwrap();
        assert_eq!(
            parts,
            vec![
                file("a\"b", "C:\\photos\\x \\ y.jpg", "image/jpeg", b"jpeg"),
                Part {
                    name: "plain".to_string(),
                    filename: Some("caf\u{e9}.png".to_string()),
                    content_type: None,
                    bytes: b"png".to_vec(),
                },
                Part {
                    name: "dir".to_string(),
                    filename: Some("photos\\".to_string()),
                    content_type: None,
                    bytes: Vec::new(),
                },
                field("folded", "text"),
            ]
        );
    }
    let text_after = format!("--{BOUNDARY}x\r\n\r\n--{BOUNDARY}--");
    assert!(matches!(
        read_all(text_after.as_bytes(), &content_type(), LIMITS),
        Err(MultipartError::Malformed(_))
    ));
}

#[test]
fn multipart_reads_a_large_file_in_linear_time_with_a_small_buffer() {
    let big: Vec<u8> = (0..10 * MIB).map(|i| (i % 253) as u8).collect();
    let body = body(&[
        ("title", None, None, b"Lamp"),
        ("photo", Some("big.jpg"), Some("image/jpeg"), &big),
        ("photo", Some("small.jpg"), Some("image/jpeg"), b"small"),
    ]);
    let started = std::time::Instant::now();
    let mut form = Multipart::new(body.as_slice(), &content_type(), LIMITS).unwrap();
    form.next_part().unwrap().unwrap();
    let photo = form.next_part().unwrap().unwrap();
    assert!(photo.bytes == big);
    assert_eq!(form.next_part().unwrap().unwrap().bytes, b"small");
    assert_eq!(form.next_part().unwrap(), None);
    assert!(
        form.buf.len() <= CHUNK + MAX_HEADER_BYTES,
        "{}",
        form.buf.len()
    );
    // Generous even for an unoptimised build; a quadratic search takes minutes.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

/// A reader that is interrupted once, gives part of a body, then fails.
struct BrokenReader {
    reads: usize,
    data: Vec<u8>,
}

impl Read for BrokenReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reads += 1;
        match self.reads {
            1 => Err(ErrorKind::Interrupted.into()),
            2 => {
                let n = self.data.len().min(buf.len());
                buf[..n].copy_from_slice(&self.data[..n]);
                Ok(n)
            }
            _ => Err(ErrorKind::ConnectionReset.into()),
        }
    }
}

#[test]
fn multipart_reports_a_failing_reader_as_unreadable() {
    let complete = body(&[("title", None, None, b"Lamp"), ("n", None, None, b"2")]);
    let reader = BrokenReader {
        reads: 0,
        data: complete[..complete.len() - 20].to_vec(),
    };
    let mut form = Multipart::new(reader, &content_type(), LIMITS).unwrap();
    assert_eq!(form.next_part().unwrap(), Some(field("title", "Lamp")));
    assert_eq!(form.next_part(), Err(MultipartError::Unreadable));
    assert_eq!(form.next_part(), Err(MultipartError::Unreadable));
    assert!(MultipartError::Unreadable.message().contains("interrupted"));
}

#[test]
fn multipart_sizes_read_well() {
    assert_eq!(size_text(10 * MIB), "10 MiB");
    assert_eq!(size_text(MIB + MIB / 2), "1.5 MiB");
    assert_eq!(size_text(64 * KIB), "64 KiB");
    assert_eq!(size_text(1023), "1023 bytes");
    let error = MultipartError::FileTooLarge {
        field: "photo".to_string(),
        filename: String::new(),
        limit: 10 * MIB,
    };
    assert_eq!(
        error.message(),
        "The file in the field \u{201c}photo\u{201d} is larger than 10 MiB, the most a file may have."
    );
}

/// A fixed-seed xorshift: the same "random" bodies on every run.
struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

#[test]
fn multipart_never_panics_on_random_or_mangled_bodies() {
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    let (valid, _) = tricky_form();
    let alphabet = format!("\r\n-\t :;=\"\\{BOUNDARY}Content-Disposition form-data name filename");
    let alphabet = alphabet.as_bytes();
    let small = Limits {
        max_file_bytes: 300,
        max_field_bytes: 40,
        max_parts: 3,
    };
    for round in 0..3000 {
        let body: Vec<u8> = match round % 3 {
            0 => (0..random.below(400))
                .map(|_| random.next_u64() as u8)
                .collect(),
            1 => (0..random.below(400))
                .map(|_| alphabet[random.below(alphabet.len())])
                .collect(),
            _ => {
                let mut body = valid.clone();
                for _ in 0..1 + random.below(8) {
                    let at = random.below(body.len());
                    match random.below(4) {
                        0 => body[at] = random.next_u64() as u8,
                        1 => {
                            body.remove(at);
                        }
                        2 => body.insert(at, alphabet[random.below(alphabet.len())]),
                        _ => body.truncate(at),
                    }
                    if body.is_empty() {
                        break;
                    }
                }
                body
            }
        };
        let limits = if round % 2 == 0 { LIMITS } else { small };
        let chunk = 1 + random.below(20);
        let mut form =
            Multipart::new(ChunkReader::new(body, chunk), &content_type(), limits).unwrap();
        let mut calls = 0;
        while let Ok(Some(_)) = form.next_part() {
            calls += 1;
            assert!(calls <= 1000, "round {round} does not end");
        }
    }
    for round in 0..2000 {
        let text: String = (0..random.below(60))
            .map(|_| char::from(alphabet[random.below(alphabet.len())]))
            .collect();
        let content_type = if round % 2 == 0 {
            format!("multipart/form-data; {text}")
        } else {
            text
        };
        let _ = boundary(&content_type);
        let _ = split_header_value(&content_type);
        let _ = decode_ext_value(&content_type);
    }
    for value in ["UTF-8''%", "UTF-8''%4", "UTF-8''%zz%C3", "utf-8''\u{e9}%"] {
        let _ = decode_ext_value(value);
    }
}
