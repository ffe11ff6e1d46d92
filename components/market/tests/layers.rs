//! The core reads top-down: observe → domain → storage → use_cases → web. Each file may use only
//! files of its own layer or of the layers before it, and no files may use each other
//! in a circle. Read from the source's own `crate::` paths, so this stays true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first.
const LAYERS: [&str; 5] = ["observe", "domain", "storage", "use_cases", "web"];

/// Every `.rs` file under `dir`, as its module path (`domain/item.rs` → `domain::item`,
/// `domain/mod.rs` → `domain`).
fn modules(src: &Path, dir: &Path, found: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            modules(src, &path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts
                .last()
                .is_some_and(|last| last == "mod" || last == "lib")
            {
                parts.pop();
            }
            found.insert(parts.join("::"), path);
        }
    }
}

/// The modules a file's `crate::` paths name (`crate::storage::{cache, db}` names both;
/// `crate::domain::item::Item` names `domain::item`).
fn imports(text: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let path = path.trim_end_matches(':');
        let mut candidates = vec![path.to_owned()];
        if let Some(group) = rest[path.len()..].strip_prefix("::{") {
            let group = group.split('}').next().unwrap_or_default();
            for name in group.split(',') {
                let name = name.trim().split("::").next().unwrap_or_default();
                let name = name.split_whitespace().next().unwrap_or_default();
                if name == "self" {
                    candidates.push(path.to_owned());
                } else if !name.is_empty() {
                    candidates.push(format!("{path}::{name}"));
                }
            }
        }
        for candidate in candidates {
            // The longest prefix that is a module of its own file.
            let mut segments: Vec<&str> = candidate.split("::").collect();
            while !segments.is_empty() {
                let module = segments.join("::");
                if known.contains_key(&module) {
                    named.insert(module);
                    break;
                }
                segments.pop();
            }
        }
    }
    named
}

fn layer_of(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    LAYERS.iter().position(|layer| *layer == top)
}

/// A circle of modules using each other, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut known = BTreeMap::new();
    modules(&src, &src, &mut known);
    known
        .iter()
        .map(|(module, path)| {
            let text = std::fs::read_to_string(path).unwrap();
            let mut used = imports(&text, &known);
            used.remove(module);
            (module.clone(), used)
        })
        .collect()
}

#[test]
fn every_file_of_the_core_is_in_a_layer() {
    let outside: Vec<String> = graph()
        .into_keys()
        .filter(|module| !module.is_empty() && layer_of(module).is_none())
        .collect();
    assert_eq!(outside, Vec::<String>::new(), "files outside {LAYERS:?}");
}

#[test]
fn no_file_uses_a_file_of_a_later_layer() {
    let mut upward = Vec::new();
    let mut arrows = 0;
    for (module, used) in graph() {
        for target in used {
            arrows += 1;
            if let (Some(from), Some(to)) = (layer_of(&module), layer_of(&target))
                && to > from
            {
                upward.push(format!("{module} → {target}"));
            }
        }
    }
    assert!(arrows > 20, "the imports were read ({arrows} arrows)");
    assert_eq!(upward, Vec::<String>::new(), "arrows pointing up");
}

#[test]
fn no_files_use_each_other_in_a_circle() {
    assert_eq!(cycle(&graph()), None);
}

#[test]
fn the_checks_see_an_upward_arrow_and_a_circle() {
    // The reader of imports itself: a circle and an upward arrow made up here are found.
    let known: BTreeMap<String, PathBuf> = ["domain::a", "web::b"]
        .iter()
        .map(|module| (module.to_string(), PathBuf::new()))
        .collect();
    let used = imports(
        "use crate::web::{b, self};\nfn f() { crate::domain::a::g() }",
        &known,
    );
    assert_eq!(
        used,
        BTreeSet::from(["domain::a".to_owned(), "web::b".to_owned()])
    );
    let circle = BTreeMap::from([
        (
            "domain::a".to_owned(),
            BTreeSet::from(["web::b".to_owned()]),
        ),
        (
            "web::b".to_owned(),
            BTreeSet::from(["domain::a".to_owned()]),
        ),
    ]);
    assert!(cycle(&circle).is_some());
    assert!(layer_of("web::b") > layer_of("domain::a"));
}
