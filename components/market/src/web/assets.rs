//! Static files shipped inside the components, at URLs that hold their content's hash
//! (made by `build.rs`), so they are cached for a year and a change is a new URL.

use crate::web::http::{self, Response};
use crate::web::sharing;

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The stylesheet every page links.
pub const STYLESHEET: &str = include_str!("../../assets/site.css");

/// The stylesheet, immutable at its hashed URL.
pub fn stylesheet() -> Response {
    sharing::immutable(http::asset("text/css; charset=utf-8", STYLESHEET))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_is_named_by_its_content() {
        let name = STYLESHEET_PATH
            .strip_prefix("/static/site-")
            .and_then(|rest| rest.strip_suffix(".css"))
            .expect("/static/site-<hash>.css");
        assert_eq!(name.len(), 16);
        assert!(name.bytes().all(|b| b.is_ascii_hexdigit()));
        let response = stylesheet();
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
}
