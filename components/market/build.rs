//! Names the stylesheet by its content: `/static/site-<hash>.css`, so it can be cached
//! for a year (a changed stylesheet is a new URL).

use std::fmt::Write;

use sha2::{Digest, Sha256};

fn main() {
    let source = "assets/site.css";
    println!("cargo::rerun-if-changed={source}");
    let css = std::fs::read(source).expect("reading the stylesheet");
    let hash = Sha256::digest(&css)
        .iter()
        .take(8)
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(
        out.join("assets.rs"),
        format!(
            "/// Where the stylesheet is served: its content's hash is in the name.\n\
             pub const STYLESHEET_PATH: &str = \"/static/site-{hash}.css\";\n"
        ),
    )
    .expect("writing assets.rs");
}
