//! Which items a page of the listing shows: everything in stock by default, the words
//! someone searched for, and sold-out items only when asked. The home page and the API
//! read the same query parameters through [`Listing::from_query`].

use crate::domain::error::AppError;
use crate::domain::item::ItemId;

/// Items per page of the listing, on the home page and by default in the API.
pub const PAGE_SIZE: u32 = 50;

/// The query parameter (and buy-form field) holding the cursor of an older page: the
/// page shows the items older than this id.
pub const BEFORE_PARAM: &str = "before";
/// The query parameter holding the search words.
pub const SEARCH_PARAM: &str = "q";
/// The query parameter that shows sold-out items (`sold_out=show`).
pub const SOLD_OUT_PARAM: &str = "sold_out";
const SOLD_OUT_SHOWN: &str = "show";
/// Longest search, in characters, after trimming.
pub const SEARCH_MAX_CHARS: usize = 200;

/// Words to look for in names and descriptions: trimmed, 1..=200 characters, control
/// characters (NUL among them, which Postgres text cannot hold) read as spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(String);

impl SearchTerms {
    /// `None` for an empty search (the whole listing).
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let cleaned: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let terms = cleaned.trim();
        if terms.is_empty() {
            return Ok(None);
        }
        if terms.chars().count() > SEARCH_MAX_CHARS {
            return Err(format!("Search for at most {SEARCH_MAX_CHARS} characters."));
        }
        Ok(Some(Self(terms.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The items a listing shows, before paging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub search: Option<SearchTerms>,
    pub include_sold_out: bool,
}

impl Listing {
    /// Reads `q` and `sold_out` from a query string's values; a 400 says which is wrong.
    pub fn from_query(search: Option<&str>, sold_out: Option<&str>) -> Result<Self, AppError> {
        let search = search
            .map(SearchTerms::parse)
            .transpose()
            .map_err(AppError::BadRequest)?
            .flatten();
        let include_sold_out = match sold_out {
            None | Some("") => false,
            Some(SOLD_OUT_SHOWN) => true,
            Some(_) => {
                return Err(AppError::BadRequest(format!(
                    "{SOLD_OUT_PARAM} can only be \"{SOLD_OUT_SHOWN}\"."
                )));
            }
        };
        Ok(Self {
            search,
            include_sold_out,
        })
    }

    /// Whether this is the plain listing everyone sees first (the one worth caching).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The address of a page of this listing on the home page: the newest items, or
    /// those older than `before`; the search and filter kept.
    pub fn page_path(&self, before: Option<ItemId>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(search) = &self.search {
            query.append_pair(SEARCH_PARAM, search.as_str());
        }
        if self.include_sold_out {
            query.append_pair(SOLD_OUT_PARAM, SOLD_OUT_SHOWN);
        }
        if let Some(before) = before {
            query.append_pair(BEFORE_PARAM, &before.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{query}")
        }
    }

    /// The same listing with sold-out items shown or hidden.
    pub fn with_sold_out(&self, include_sold_out: bool) -> Self {
        Self {
            include_sold_out,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_trimmed_and_control_characters_become_spaces() {
        let terms = SearchTerms::parse(" red\0bike\n ").unwrap().unwrap();
        assert_eq!(terms.as_str(), "red bike");
        assert_eq!(SearchTerms::parse("  \t ").unwrap(), None);
        assert!(SearchTerms::parse(&"x".repeat(201)).is_err());
        assert!(
            SearchTerms::parse(&"é".repeat(200)).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn the_query_is_read_and_a_wrong_filter_named() {
        let listing = Listing::from_query(Some("lamp"), Some("show")).unwrap();
        assert_eq!(listing.search.unwrap().as_str(), "lamp");
        assert!(listing.include_sold_out);
        assert!(Listing::from_query(None, None).unwrap().is_default());
        assert!(
            Listing::from_query(Some(""), Some(""))
                .unwrap()
                .is_default()
        );
        let Err(AppError::BadRequest(message)) = Listing::from_query(None, Some("yes")) else {
            panic!("sold_out=yes accepted");
        };
        assert!(message.contains("sold_out"));
    }

    #[test]
    fn page_paths_keep_the_search_and_the_filter() {
        let listing = Listing::from_query(Some("a&b <c>"), Some("show")).unwrap();
        assert_eq!(
            listing.page_path(ItemId::parse("40")),
            "/?q=a%26b+%3Cc%3E&sold_out=show&before=40"
        );
        assert_eq!(Listing::default().page_path(None), "/");
        assert_eq!(
            Listing::default().page_path(ItemId::parse("7")),
            "/?before=7"
        );
    }
}
