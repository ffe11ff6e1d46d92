//! A streaming reader of `multipart/form-data` bodies (RFC 7578), for the upload form:
//! a seller posts a listing's text fields and up to 8 photos of up to 15 MiB each
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

pub use crate::web::multipart_headers::{MultipartError, boundary};
use crate::web::multipart_headers::{PartHeaders, parse_headers};

/// The most the reader asks of the underlying reader at once.
const CHUNK: usize = 64 * 1024;

/// The most a part's headers may take, with the blank line that ends them. The same
/// bound applies to the preamble before the first boundary and to the spaces and tabs
/// after a boundary.
const MAX_HEADER_BYTES: usize = 8 * 1024;

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
#[path = "multipart_tests.rs"]
mod tests;
