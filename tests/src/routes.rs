//! Spin's HTTP routing: exact routes beat wildcards, the longest wildcard prefix wins,
//! `:name` matches one segment, and the query string plays no part.

use crate::manifest::HttpTrigger;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone)]
struct Route {
    /// As written in the manifest.
    raw: String,
    segments: Vec<Segment>,
    wildcard: bool,
    component: String,
}

/// What routing found for a path: the component, and the values Spin puts in headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub component: String,
    pub raw_route: String,
    /// The route without a trailing `/...` (`spin-component-route`).
    pub component_route: String,
    /// The route as Spin normalised it (`spin-matched-route`).
    pub matched_route: String,
    /// The part of the path the wildcard matched (`spin-path-info`).
    pub path_info: String,
    pub params: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(triggers: &[HttpTrigger]) -> Self {
        let routes = triggers
            .iter()
            .map(|trigger| {
                let mut route = trigger.route.trim().to_owned();
                if !route.starts_with('/') {
                    route.insert(0, '/');
                }
                let (prefix, wildcard) = match route
                    .strip_suffix("/...")
                    .or_else(|| route.strip_suffix("/*"))
                {
                    Some(prefix) => (prefix.to_owned(), true),
                    None => (route.strip_suffix('/').unwrap_or(&route).to_owned(), false),
                };
                let segments = prefix
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.strip_prefix(':') {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    })
                    .collect();
                Route {
                    raw: trigger.route.clone(),
                    segments,
                    wildcard,
                    component: trigger.component.clone(),
                }
            })
            .collect();
        Self { routes }
    }

    /// The route Spin would pick for this path (without the query).
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let mut best: Option<((bool, usize, usize, usize), RouteMatch)> = None;
        for (index, route) in self.routes.iter().enumerate() {
            let Some(found) = route.matches(path) else {
                continue;
            };
            let literals = route
                .segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            // Exact first, then the longest prefix, then literal segments over
            // parameters; among equals the later declaration wins, as in Spin.
            let rank = (!route.wildcard, route.segments.len(), literals, index);
            if best.as_ref().is_none_or(|(best_rank, _)| rank > *best_rank) {
                best = Some((rank, found));
            }
        }
        best.map(|(_, found)| found)
    }
}

impl Route {
    fn matches(&self, path: &str) -> Option<RouteMatch> {
        let mut rest = path;
        let mut params = Vec::new();
        for segment in &self.segments {
            let after_slash = rest.strip_prefix('/')?;
            let end = after_slash.find('/').unwrap_or(after_slash.len());
            let value = &after_slash[..end];
            match segment {
                Segment::Literal(literal) if literal == value => {}
                Segment::Param(name) if !value.is_empty() => {
                    params.push((name.clone(), value.to_owned()));
                }
                _ => return None,
            }
            rest = &after_slash[end..];
        }
        let path_info = if self.wildcard {
            rest.to_owned()
        } else {
            // An exact route also matches with one trailing slash.
            if !(rest.is_empty() || rest == "/") {
                return None;
            }
            String::new()
        };
        let prefix: String = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => format!("/{l}"),
                Segment::Param(p) => format!("/:{p}"),
            })
            .collect();
        Some(RouteMatch {
            component: self.component.clone(),
            raw_route: self.raw.clone(),
            component_route: self
                .raw
                .strip_suffix("/...")
                .unwrap_or(&self.raw)
                .to_owned(),
            matched_route: if self.wildcard {
                format!("{prefix}/...")
            } else {
                prefix
            },
            path_info,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::new(
            &routes
                .iter()
                .map(|(route, component)| HttpTrigger {
                    id: None,
                    route: route.to_string(),
                    component: component.to_string(),
                })
                .collect::<Vec<_>>(),
        )
    }

    fn component(router: &Router, path: &str) -> Option<String> {
        router.route(path).map(|m| m.component)
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router(&[
            ("/...", "pages"),
            ("/items/...", "items"),
            ("/items/special", "special"),
            ("/items/deep/...", "deep"),
        ]);
        assert_eq!(component(&r, "/").as_deref(), Some("pages"));
        assert_eq!(component(&r, "/about").as_deref(), Some("pages"));
        assert_eq!(component(&r, "/items").as_deref(), Some("items"));
        assert_eq!(component(&r, "/items/5").as_deref(), Some("items"));
        assert_eq!(component(&r, "/itemsx").as_deref(), Some("pages"));
        assert_eq!(component(&r, "/items/special").as_deref(), Some("special"));
        assert_eq!(component(&r, "/items/special/").as_deref(), Some("special"));
        assert_eq!(component(&r, "/items/deep/x").as_deref(), Some("deep"));
    }

    #[test]
    fn path_info_and_params_are_reported_like_spin() {
        let r = router(&[("/items/...", "items"), ("/foo/:userid/...", "foo")]);
        let m = r.route("/items/5/buy").unwrap();
        assert_eq!(m.path_info, "/5/buy");
        assert_eq!(m.component_route, "/items");
        assert_eq!(m.matched_route, "/items/...");
        assert_eq!(r.route("/items").unwrap().path_info, "");
        assert_eq!(r.route("/items/").unwrap().path_info, "/");
        let m = r.route("/foo/42/bar").unwrap();
        assert_eq!(m.params, vec![("userid".to_owned(), "42".to_owned())]);
        assert_eq!(m.path_info, "/bar");
        assert_eq!(m.component_route, "/foo/:userid");
    }

    #[test]
    fn unmatched_paths_find_nothing() {
        let r = router(&[("/health/...", "health")]);
        assert_eq!(component(&r, "/"), None);
        assert_eq!(component(&r, "/healthz"), None);
    }
}
