//! Embeds every `sql/NNNN_name.sql` file, in version order, so the runner and the
//! components agree on the schema without a second list to keep in sync.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations/sql is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();

    let mut code = String::from("pub const MIGRATIONS: &[Migration] = &[\n");
    for (index, path) in files.iter().enumerate() {
        println!("cargo::rerun-if-changed={}", path.display());
        let stem = path.file_stem().unwrap().to_str().expect("UTF-8 file name");
        let (version, name) = stem
            .split_once('_')
            .unwrap_or_else(|| panic!("{stem}.sql: name it NNNN_what_it_does.sql"));
        let version: i64 = version
            .parse()
            .unwrap_or_else(|_| panic!("{stem}.sql: the prefix must be a number"));
        assert_eq!(
            version,
            index as i64 + 1,
            "{stem}.sql: versions must count up from 1 without gaps"
        );
        writeln!(
            code,
            "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({:?}) }},",
            path.display()
        )
        .unwrap();
    }
    code.push_str("];\n");
    writeln!(code, "pub const LATEST_VERSION: i64 = {};", files.len()).unwrap();
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("migrations.rs");
    std::fs::write(out, code).unwrap();
}
