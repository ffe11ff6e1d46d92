//! A streaming reader of `multipart/form-data` bodies (RFC 7578), for the upload form:
//! a seller posts a listing's text fields and up to 8 photos of up to about 10 MiB each
//! in one request.
//!
//! The reader takes the body in chunks of at most 64 KiB and hands back one part at a
//! time, so it never holds more than one file (plus one chunk) in memory. A file that
//! passes its size limit is refused as soon as it passes it: the rest of the body is not
//! read. Text fields together, the number of parts and each part's headers have limits
//! too, and no input makes it panic.
//!
//! ```text
//! let mut form = Multipart::new(body, content_type, limits)?;
//! while let Some(part) = form.next_part()? {
//!     if part.is_file() { /* a photo */ } else { /* a text field: part.text() */ }
//! }
//! ```

use std::io::{ErrorKind, Read};

/// The most the reader asks of the underlying reader at once.
const CHUNK: usize = 64 * 1024;

/// The most a part's headers may take, with the blank line that ends them. The same
/// bound applies to the preamble before the first boundary and to the spaces and tabs
/// after a boundary.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// The longest boundary RFC 2046 allows.
const MAX_BOUNDARY_LEN: usize = 70;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// The reason given when the body stops before the closing boundary.
const ENDS_EARLY: &str = "the body ends before the closing boundary";

/// How much a form may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes one file may have.
    pub max_file_bytes: usize,
    /// The most bytes all text fields (parts without a filename) may have together,
    /// counting their values only.
    pub max_field_bytes: usize,
    /// The most parts (text fields and files together) the form may have.
    pub max_parts: usize,
}

/// One field or file of the form, read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field's name, from `Content-Disposition: form-data; name="..."`.
    pub name: String,
    /// The file's name as the browser sent it, for a file; `Some("")` for a file input
    /// left empty. It comes from the client: clean it before using it in a path.
    pub filename: Option<String>,
    /// The part's `Content-Type`, if it has one (browsers send one with each file).
    pub content_type: Option<String>,
    /// The field's value or the file's content, exactly as sent.
    pub bytes: Vec<u8>,
}

impl Part {
    /// Whether the part is a file: it has a filename, even an empty one.
    pub fn is_file(&self) -> bool {
        self.filename.is_some()
    }

    /// Whether the part is a file input the person left empty: browsers send it with
    /// `filename=""` and no content.
    pub fn is_empty_file_input(&self) -> bool {
        self.filename.as_deref() == Some("") && self.bytes.is_empty()
    }

    /// The part's content as text, if it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }
}

/// Why a form's body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartError {
    /// The request's `Content-Type` is not `multipart/form-data`, or it has no boundary
    /// of 1 to 70 of the characters RFC 2046 allows.
    NotMultipart,
    /// The body does not follow the format; the text says where it went wrong.
    Malformed(&'static str),
    /// A file is larger than `Limits::max_file_bytes`.
    FileTooLarge {
        /// The form field the file was sent in.
        field: String,
        /// The file's name as sent.
        filename: String,
        /// The limit it passed, in bytes.
        limit: usize,
    },
    /// The text fields together are larger than `Limits::max_field_bytes`.
    FieldsTooLarge {
        /// The limit they passed, in bytes.
        limit: usize,
    },
    /// The form has more parts than `Limits::max_parts`.
    TooManyParts {
        /// The most parts allowed.
        limit: usize,
    },
    /// Reading the body failed, as when the client goes away.
    Unreadable,
}

impl MultipartError {
    /// A sentence for the person who sent the form.
    pub fn message(&self) -> String {
        match self {
            Self::NotMultipart => "The form was not sent as multipart/form-data with a boundary, \
                 so its fields and files could not be read."
                .to_string(),
            Self::Malformed(reason) => format!("The form could not be read: {reason}."),
            Self::FileTooLarge {
                field,
                filename,
                limit,
            } => {
                let file = if filename.is_empty() {
                    "The file".to_string()
                } else {
                    format!("The file \u{201c}{filename}\u{201d}")
                };
                format!(
                    "{file} in the field \u{201c}{field}\u{201d} is larger than {}, \
                     the most a file may have.",
                    size_text(*limit)
                )
            }
            Self::FieldsTooLarge { limit } => format!(
                "The form's text fields together are larger than {}, the most they may have.",
                size_text(*limit)
            ),
            Self::TooManyParts { limit } => {
                format!("The form has more than {limit} fields and files, the most it may have.")
            }
            Self::Unreadable => {
                "The form could not be read to its end: the connection was interrupted.".to_string()
            }
        }
    }
}

/// A size for people: "10 MiB", "1.5 MiB", "64 KiB" or "100 bytes" (rounded down to a
/// tenth).
fn size_text(bytes: usize) -> String {
    let (unit, name) = if bytes >= MIB {
        (MIB, "MiB")
    } else if bytes >= KIB {
        (KIB, "KiB")
    } else {
        return format!("{bytes} bytes");
    };
    let whole = bytes / unit;
    let tenths = bytes % unit * 10 / unit;
    if tenths == 0 {
        format!("{whole} {name}")
    } else {
        format!("{whole}.{tenths} {name}")
    }
}

/// The boundary of a `multipart/form-data` content type, as in
/// `multipart/form-data; boundary=----abc` or `boundary="a b"`. The type and the
/// parameter's name are matched without regard to case. `None` for another type, or a
/// boundary that is missing, empty, longer than 70 characters, or has characters RFC 2046
/// does not allow.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = split_header_value(content_type).ok()?;
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let (_, boundary) = params.into_iter().find(|(name, _)| name == "boundary")?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
    let usable = (1..=MAX_BOUNDARY_LEN).contains(&boundary.len())
        && boundary.chars().all(allowed)
        && !boundary.ends_with(' ');
    usable.then_some(boundary)
}

/// A header's parameters, as `(name in lower case, value)` in the order sent.
type Params = Vec<(String, String)>;

/// Splits a header value such as `form-data; name="a"; filename="b.jpg"` into its first
/// item (trimmed) and its parameters, with names in lower case and quoted values
/// unquoted. In a quoted value a backslash escapes `"` or `\`; before any other character
/// it is kept, since browsers send a filename's backslashes as they are (see below).
/// Parameters without `=` are skipped.
fn split_header_value(value: &str) -> Result<(&str, Params), &'static str> {
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return Ok((kind.trim(), params));
        }
        let Some((name, after)) = rest.split_once('=').filter(|(name, _)| !name.contains(';'))
        else {
            rest = rest.split_once(';').map_or("", |(_, after)| after);
            continue;
        };
        let after = after.trim_start_matches([' ', '\t']);
        let param_value = if let Some(quoted) = after.strip_prefix('"') {
            // Browsers do not escape a filename's backslashes: when reading them as escapes
            // leaves no closing quote before the next parameter, they are read as
            // themselves (so `filename="photo\"` is `photo\`).
            let ends_param = |after: &str| {
                let after = after.trim_start_matches([' ', '\t']);
                after.is_empty() || after.starts_with(';')
            };
            let (unquoted, after_quote) = [true, false]
                .into_iter()
                .find_map(|escapes| unquote(quoted, escapes).filter(|(_, after)| ends_param(after)))
                .ok_or("a header has a quoted value that does not end where it should")?;
            rest = after_quote;
            unquoted
        } else {
            let (token, after_token) = after.split_once(';').unwrap_or((after, ""));
            rest = after_token;
            token.trim().to_string()
        };
        params.push((name.trim().to_ascii_lowercase(), param_value));
    }
}

/// The quoted string that starts `text` (after its opening quote), and what follows its
/// closing quote; `None` without a closing quote. With `escapes`, a backslash escapes a
/// following `"` or `\`.
fn unquote(text: &str, escapes: bool) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' if escapes => match chars.peek() {
                Some(&(_, escaped @ ('"' | '\\'))) => {
                    value.push(escaped);
                    chars.next();
                }
                _ => value.push('\\'),
            },
            _ => value.push(c),
        }
    }
    None
}

/// An RFC 8187 value (`UTF-8''photo%20one.jpg`) decoded; the value as it is when it is
/// not in that form.
fn decode_ext_value(value: &str) -> String {
    let mut pieces = value.splitn(3, '\'');
    let (Some(charset), Some(_language), Some(encoded)) =
        (pieces.next(), pieces.next(), pieces.next())
    else {
        return value.to_string();
    };
    if !charset.eq_ignore_ascii_case("utf-8") {
        return value.to_string();
    }
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|digits| digits.iter().all(u8::is_ascii_hexdigit))
            .and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).unwrap_or_else(|_| value.to_string())
}

/// What a part's headers say about it.
struct PartHeaders {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
}

/// Reads a part's header block (without the blank line that ends it). Header names are
/// matched without regard to case; the first of a repeated header wins; other headers
/// are ignored.
fn parse_headers(block: &[u8]) -> Result<PartHeaders, MultipartError> {
    let text = String::from_utf8_lossy(block);
    let mut headers: Vec<(String, String)> = Vec::new();
    if !text.is_empty() {
        for line in text.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                // An obsolete folded line continues the header before it.
                let (_, value) = headers.last_mut().ok_or(MultipartError::Malformed(
                    "a part's headers start with a continuation line",
                ))?;
                value.push(' ');
                value.push_str(line.trim());
                continue;
            }
            let (name, value) = line.split_once(':').ok_or(MultipartError::Malformed(
                "a part's header line has no colon",
            ))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.as_str())
    };
    let disposition = header("content-disposition").ok_or(MultipartError::Malformed(
        "a part has no Content-Disposition",
    ))?;
    let (kind, params) = split_header_value(disposition).map_err(MultipartError::Malformed)?;
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::Malformed(
            "a part's Content-Disposition is not form-data",
        ));
    }
    let param = |wanted: &str| {
        params
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.clone())
    };
    let name = param("name").ok_or(MultipartError::Malformed(
        "a part's Content-Disposition has no name",
    ))?;
    let filename = param("filename").or_else(|| param("filename*").map(|v| decode_ext_value(&v)));
    let content_type = header("content-type")
        .filter(|value| !value.is_empty())
        .map(str::to_string);
    Ok(PartHeaders {
        name,
        filename,
        content_type,
    })
}

/// The first place `needle` starts in `haystack`. It looks only at the bytes equal to the
/// needle's first byte; since a delimiter's first byte (CR) appears nowhere else in it, a
/// partial match is never re-examined, and the search is linear in the haystack.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last_start {
        let at = from
            + haystack[from..=last_start]
                .iter()
                .position(|&byte| byte == first)?;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Reads a `multipart/form-data` body one part at a time.
///
/// It holds the body's unread bytes in a buffer of about 72 KiB at most, plus the part
/// being read. Once it returns an error, it returns the same error on every later call.
pub struct Multipart<R: Read> {
    reader: R,
    limits: Limits,
    /// `\r\n--` and the boundary: what ends each part.
    delimiter: Vec<u8>,
    /// Bytes read but not yet used are `buf[pos..end]`.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// The reader has no more bytes.
    eof: bool,
    /// The opening boundary has been found.
    started: bool,
    /// The closing boundary has been read.
    done: bool,
    /// The error already returned, returned again on later calls.
    failed: Option<MultipartError>,
    /// How many parts have been started.
    parts: usize,
    /// The bytes of the text fields read so far.
    field_bytes: usize,
}

impl<R: Read> Multipart<R> {
    /// A reader of the body `reader` sent with the `Content-Type` header `content_type`.
    /// Reads nothing yet; `NotMultipart` when the content type has no usable boundary.
    pub fn new(reader: R, content_type: &str, limits: Limits) -> Result<Self, MultipartError> {
        let boundary = boundary(content_type).ok_or(MultipartError::NotMultipart)?;
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Ok(Self {
            reader,
            limits,
            delimiter,
            // The opening boundary may start the body without a CRLF before it: a CRLF
            // placed before the body lets one search find every boundary.
            buf: b"\r\n".to_vec(),
            pos: 0,
            end: 2,
            eof: false,
            started: false,
            done: false,
            failed: None,
            parts: 0,
            field_bytes: 0,
        })
    }

    /// The next part, read in full (a file up to `max_file_bytes`), or `None` after the
    /// closing boundary; what follows that boundary is not read.
    pub fn next_part(&mut self) -> Result<Option<Part>, MultipartError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.read_part();
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    fn read_part(&mut self) -> Result<Option<Part>, MultipartError> {
        if self.done {
            return Ok(None);
        }
        if !self.started {
            self.skip_preamble()?;
            self.started = true;
        }
        if self.read_boundary_end()? {
            self.done = true;
            return Ok(None);
        }
        if self.parts >= self.limits.max_parts {
            return Err(MultipartError::TooManyParts {
                limit: self.limits.max_parts,
            });
        }
        self.parts += 1;
        let headers = self.read_headers()?;
        let bytes = self.read_body(&headers)?;
        if headers.filename.is_none() {
            self.field_bytes += bytes.len();
        }
        Ok(Some(Part {
            name: headers.name,
            filename: headers.filename,
            content_type: headers.content_type,
            bytes,
        }))
    }

    /// Reads one more chunk after the unused bytes; false when the reader has no more.
    fn fill(&mut self) -> Result<bool, MultipartError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            // Few bytes are left unused when more are needed: moving them is cheap.
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() < self.end + CHUNK {
            self.buf.resize(self.end + CHUNK, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..self.end + CHUNK]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(read) if read <= CHUNK => {
                    self.end += read;
                    return Ok(true);
                }
                // A reader that claims more than it was given room for is broken.
                Ok(_) => return Err(MultipartError::Unreadable),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(MultipartError::Unreadable),
            }
        }
    }

    /// Makes at least `wanted` unused bytes available; false if the body ends first.
    fn ensure(&mut self, wanted: usize) -> Result<bool, MultipartError> {
        while self.end - self.pos < wanted {
            if !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Skips what comes before the opening boundary, up to 8 KiB, and the boundary.
    fn skip_preamble(&mut self) -> Result<(), MultipartError> {
        let keep = self.delimiter.len() - 1;
        let mut skipped = 0;
        loop {
            let unused = &self.buf[self.pos..self.end];
            if let Some(at) = find(unused, &self.delimiter) {
                self.pos += at + self.delimiter.len();
                return Ok(());
            }
            let skip = unused.len().saturating_sub(keep);
            self.pos += skip;
            skipped += skip;
            if skipped > MAX_HEADER_BYTES {
                return Err(MultipartError::Malformed(
                    "more than 8 KiB come before the opening boundary",
                ));
            }
            if !self.fill()? {
                return Err(MultipartError::Malformed("no opening boundary"));
            }
        }
    }

    /// Reads what follows a boundary: `--` for the closing one (true), or optional spaces
    /// and tabs and a CRLF before a part (false).
    fn read_boundary_end(&mut self) -> Result<bool, MultipartError> {
        if !self.ensure(2)? {
            return Err(MultipartError::Malformed(ENDS_EARLY));
        }
        if self.buf[self.pos..self.end].starts_with(b"--") {
            return Ok(true);
        }
        let mut padding = 0;
        loop {
            if !self.ensure(1)? {
                return Err(MultipartError::Malformed(ENDS_EARLY));
            }
            if !matches!(self.buf[self.pos], b' ' | b'\t') {
                break;
            }
            self.pos += 1;
            padding += 1;
            if padding > MAX_HEADER_BYTES {
                return Err(MultipartError::Malformed(
                    "a boundary line has too many spaces after the boundary",
                ));
            }
        }
        if !self.ensure(2)? {
            return Err(MultipartError::Malformed(ENDS_EARLY));
        }
        if &self.buf[self.pos..self.pos + 2] != b"\r\n" {
            return Err(MultipartError::Malformed(
                "a boundary line has text after the boundary",
            ));
        }
        self.pos += 2;
        Ok(false)
    }

    /// Reads a part's headers and the blank line after them.
    fn read_headers(&mut self) -> Result<PartHeaders, MultipartError> {
        const TOO_LONG: MultipartError = MultipartError::Malformed("a part's headers are too long");
        // Where the search for the blank line resumes, from `pos`.
        let mut from = 0;
        loop {
            let unused = &self.buf[self.pos..self.end];
            if unused.starts_with(b"\r\n") {
                self.pos += 2;
                return parse_headers(b"");
            }
            if let Some(at) = find(&unused[from..], b"\r\n\r\n").map(|at| at + from) {
                if at + 4 > MAX_HEADER_BYTES {
                    return Err(TOO_LONG);
                }
                let headers = parse_headers(&unused[..at])?;
                self.pos += at + 4;
                return Ok(headers);
            }
            if unused.len() >= MAX_HEADER_BYTES {
                return Err(TOO_LONG);
            }
            from = unused.len().saturating_sub(3);
            if !self.fill()? {
                return Err(MultipartError::Malformed(
                    "the body ends inside a part's headers",
                ));
            }
        }
    }

    /// Reads a part's content up to the next delimiter, refusing it as soon as it passes
    /// its limit.
    fn read_body(&mut self, headers: &PartHeaders) -> Result<Vec<u8>, MultipartError> {
        let Limits {
            max_file_bytes,
            max_field_bytes,
            ..
        } = self.limits;
        let limit = match headers.filename {
            Some(_) => max_file_bytes,
            None => max_field_bytes.saturating_sub(self.field_bytes),
        };
        let too_large = || match &headers.filename {
            Some(filename) => MultipartError::FileTooLarge {
                field: headers.name.clone(),
                filename: filename.clone(),
                limit: max_file_bytes,
            },
            None => MultipartError::FieldsTooLarge {
                limit: max_field_bytes,
            },
        };
        let keep = self.delimiter.len() - 1;
        let mut bytes = Vec::new();
        loop {
            let unused = &self.buf[self.pos..self.end];
            let found = find(unused, &self.delimiter);
            // Without a delimiter, the last bytes may be the start of one: they wait for
            // the next chunk.
            let content = found.unwrap_or_else(|| unused.len().saturating_sub(keep));
            if bytes.len() + content > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&unused[..content]);
            self.pos += content;
            if found.is_some() {
                self.pos += self.delimiter.len();
                return Ok(bytes);
            }
            if !self.fill()? {
                return Err(MultipartError::Malformed(ENDS_EARLY));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let alphabet =
            format!("\r\n-\t :;=\"\\{BOUNDARY}Content-Disposition form-data name filename");
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
}
