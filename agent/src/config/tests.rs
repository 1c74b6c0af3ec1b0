//! Tests of the config loader against the fixtures in `agent/testdata/config/`.

use std::path::PathBuf;

use super::*;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/config")
}

fn errors_of(rel: &str) -> Vec<String> {
    let root = format!("{}/", testdata().display());
    let errs = load(&testdata().join(rel)).expect_err(rel);
    errs.iter()
        .map(|e| e.to_string().replace(&root, ""))
        .collect()
}

#[test]
fn zz_print_all() {
    let mut names: Vec<_> = std::fs::read_dir(testdata().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names.push("../bad_dir".into());
    for n in names {
        for e in errors_of(&format!("bad/{n}")) {
            println!("{e}");
        }
    }
    let c = load(&testdata().join("good/full.toml"));
    println!("{c:#?}");
}
