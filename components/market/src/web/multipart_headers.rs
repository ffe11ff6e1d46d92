//! The headers of `multipart/form-data`: the boundary of its `Content-Type`, and what a
//! part's headers say (`Content-Disposition`'s field name and file name, its
//! `Content-Type`), for `web::multipart`.

/// The longest boundary RFC 2046 allows.
pub(crate) const MAX_BOUNDARY_LEN: usize = 70;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

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
pub(crate) fn size_text(bytes: usize) -> String {
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
pub(crate) fn split_header_value(value: &str) -> Result<(&str, Params), &'static str> {
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
pub(crate) fn decode_ext_value(value: &str) -> String {
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
pub(crate) struct PartHeaders {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: Option<String>,
}

/// Reads a part's header block (without the blank line that ends it). Header names are
/// matched without regard to case; the first of a repeated header wins; other headers
/// are ignored.
pub(crate) fn parse_headers(block: &[u8]) -> Result<PartHeaders, MultipartError> {
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
