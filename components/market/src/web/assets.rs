//! Static files shipped inside the components, at URLs that hold a hash of their content,
//! so they are cached for a year and a change is a new URL.
//!
//! The stylesheet lives in the pages component (`components/pages/src/site.css`), which
//! serves it; every component that renders pages names it by the same hash, computed at
//! compile time in the component itself ([`crate::stylesheet_path!`]). So a change to the
//! stylesheet rebuilds only the small component crates, never this core: the dev loop
//! stays fast.

use std::cell::Cell;

use crate::web::http::{self, Request, Response};
use crate::web::sharing;

/// Where the JSON API's OpenAPI description is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
/// The JSON API's OpenAPI 3.1 description: the one copy, served as it is.
pub const OPENAPI: &str = include_str!("../../assets/openapi.json");

const PREFIX: &[u8] = b"/static/site-";
const SUFFIX: &[u8] = b".css";
/// The length of `/static/site-<16 hex digits>.css`.
pub const STYLESHEET_PATH_LEN: usize = PREFIX.len() + 16 + SUFFIX.len();

/// A 64-bit FNV-1a hash of `bytes`, at compile time: enough to tell one version of a
/// file from the next in its URL (nothing here needs it to resist a forger).
pub const fn content_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut n = 0;
    while n < bytes.len() {
        hash ^= bytes[n] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        n += 1;
    }
    hash
}

/// `/static/site-<hash of css>.css`, as bytes, at compile time.
pub const fn stylesheet_path_bytes(css: &[u8]) -> [u8; STYLESHEET_PATH_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = content_hash(css);
    let mut path = [0u8; STYLESHEET_PATH_LEN];
    let mut n = 0;
    while n < PREFIX.len() {
        path[n] = PREFIX[n];
        n += 1;
    }
    let mut digit = 0;
    while digit < 16 {
        path[PREFIX.len() + digit] = HEX[((hash >> (60 - 4 * digit)) & 0xf) as usize];
        digit += 1;
    }
    let mut n = 0;
    while n < SUFFIX.len() {
        path[PREFIX.len() + 16 + n] = SUFFIX[n];
        n += 1;
    }
    path
}

/// The stylesheet's path, computed at compile time in the crate that invokes it from the
/// stylesheet at `$css` (a path relative to that crate's `Cargo.toml`).
#[macro_export]
macro_rules! stylesheet_path {
    ($css:literal) => {{
        const CSS: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $css));
        const BYTES: [u8; $crate::web::assets::STYLESHEET_PATH_LEN] =
            $crate::web::assets::stylesheet_path_bytes(CSS);
        const PATH: &str = match ::core::str::from_utf8(&BYTES) {
            Ok(path) => path,
            Err(_) => panic!("a stylesheet path is ASCII"),
        };
        PATH
    }};
}

thread_local! {
    /// The stylesheet the pages of this request link: set by the component (a component
    /// instance serves one request).
    static STYLESHEET: Cell<&'static str> = const { Cell::new("/static/site.css") };
}

/// Tells the pages of this request which stylesheet to link.
pub fn use_stylesheet(path: &'static str) {
    STYLESHEET.set(path);
}

/// The stylesheet the pages of this request link.
pub fn stylesheet_path() -> &'static str {
    STYLESHEET.get()
}

/// The stylesheet `css`, immutable at its hashed URL.
pub fn stylesheet(css: &'static str) -> Response {
    sharing::immutable(http::asset("text/css; charset=utf-8", css))
}

/// The API's description; shared by nginx like any anonymous read (it changes only
/// with a deployment).
pub fn openapi(request: &Request) -> Response {
    sharing::share_if_anonymous(request, http::asset("application/json", OPENAPI))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_is_named_by_its_content() {
        let path = |css: &[u8]| String::from_utf8(stylesheet_path_bytes(css).to_vec()).unwrap();
        let one = path(b"body { color: black; }");
        let other = path(b"body { color: black; } ");
        assert_ne!(one, other, "one byte more is another URL");
        assert_eq!(one, path(b"body { color: black; }"));
        let hash = one
            .strip_prefix("/static/site-")
            .and_then(|rest| rest.strip_suffix(".css"))
            .expect("/static/site-<hash>.css");
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            u64::from_str_radix(hash, 16).unwrap(),
            content_hash(b"body { color: black; }")
        );
        let response = stylesheet("body {}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
}
