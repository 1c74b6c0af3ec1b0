//! README.md against the registry and the workspace: the plugin table has one row per
//! registered plugin, of its kind and in registry order (the order of `sample-config`), and
//! no other; the Layout block has an entry per workspace crate (its folder and `crate
//! \`name\``), and each plugin crate's entry names every plugin that crate registers.

use std::path::{Path, PathBuf};

use super::{filters, inputs, outputs};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The lines of the section under `## <title>`, up to the next `## ` heading.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != format!("## {title}"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .collect()
}

/// Every registered plugin as `(kind, name)`, in registry order.
fn registered() -> Vec<(&'static str, &'static str)> {
    inputs()
        .iter()
        .map(|d| ("input", d.name))
        .chain(filters().iter().map(|d| ("filter", d.name)))
        .chain(outputs().iter().map(|d| ("output", d.name)))
        .collect()
}

/// The `(kind, name)` of each row of the README plugin table (`| input | \`tail\` | ... |`).
fn table_rows(text: &str) -> Vec<(String, String)> {
    section(text, "Plugins")
        .into_iter()
        .filter_map(|l| {
            let mut cells = l.strip_prefix('|')?.split('|').map(str::trim);
            let kind = cells.next()?;
            let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((kind.to_owned(), name.to_owned()))
        })
        .collect()
}

/// The Layout block's entries: a line that starts a path (`plugins/inputs/  crate ...`) and
/// its indented continuation lines, as `(path, text)`.
fn layout_entries(text: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for l in section(text, "Layout")
        .into_iter()
        .skip_while(|l| !l.starts_with("```"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
    {
        if l.starts_with(' ') {
            if let Some((_, body)) = entries.last_mut() {
                body.push(' ');
                body.push_str(l.trim());
            }
        } else if let Some((path, body)) = l.split_once(' ') {
            entries.push((path.to_owned(), body.trim().to_owned()));
        }
    }
    entries
}

/// Whether `text` has `word` with no identifier character on either side.
fn names_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word)
        .any(|(i, _)| !text[..i].ends_with(ident) && !text[i + word.len()..].starts_with(ident))
}

/// The workspace members as `(folder, package name)`, from the root Cargo.toml.
fn workspace_crates() -> Vec<(String, String)> {
    let read = |p: PathBuf| -> toml::Table {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let manifest = read(root().join("Cargo.toml"));
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("workspace.members");
    members
        .iter()
        .map(|m| {
            let folder = m.as_str().expect("a member path").to_owned();
            let crate_manifest = read(root().join(&folder).join("Cargo.toml"));
            let name = crate_manifest["package"]["name"]
                .as_str()
                .expect("package.name")
                .to_owned();
            (folder, name)
        })
        .collect()
}

#[test]
fn the_plugin_table_has_a_row_per_registered_plugin_in_registry_order() {
    let rows = table_rows(&readme());
    let want: Vec<(String, String)> = registered()
        .into_iter()
        .map(|(k, n)| (k.to_owned(), n.to_owned()))
        .collect();
    let missing: Vec<_> = want.iter().filter(|p| !rows.contains(p)).collect();
    let stale: Vec<_> = rows.iter().filter(|p| !want.contains(p)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "README plugin table: registered but without a row: {missing:?}; rows of no \
         registered plugin: {stale:?}"
    );
    assert_eq!(
        rows, want,
        "README plugin table: rows are not in registry order (the lists in plugins/*/src/lib.rs)"
    );
}

#[test]
fn the_layout_block_names_every_crate_and_every_plugin() {
    let text = readme();
    let entries = layout_entries(&text);
    assert!(!entries.is_empty(), "README has no Layout block");
    let mut failures = Vec::new();
    for (folder, name) in workspace_crates() {
        let entry = entries
            .iter()
            .find(|(path, _)| path.trim_end_matches('/') == folder);
        match entry {
            None => failures.push(format!("no entry for the crate folder `{folder}/`")),
            Some((_, body)) if !body.contains(&format!("crate `{name}`")) => {
                failures.push(format!("the `{folder}/` entry does not say crate `{name}`"));
            }
            Some(_) => {}
        }
    }
    let plugin_crates = [
        (
            "plugins/inputs",
            inputs().iter().map(|d| d.name).collect::<Vec<_>>(),
        ),
        (
            "plugins/filters",
            filters().iter().map(|d| d.name).collect(),
        ),
        (
            "plugins/outputs",
            outputs().iter().map(|d| d.name).collect(),
        ),
    ];
    for (folder, names) in plugin_crates {
        let Some((_, body)) = entries
            .iter()
            .find(|(path, _)| path.trim_end_matches('/') == folder)
        else {
            continue; // reported above
        };
        for name in names {
            if !names_word(body, name) {
                failures.push(format!("the `{folder}/` entry does not name `{name}`"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "README Layout block:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_readers_see_what_they_should() {
    let text = "## Plugins\n\n| kind | name | what |\n|---|---|---|\n| input | `tail` | x |\n\
                \n## Layout\n\n```\nplugins/inputs/   crate `gleaner-inputs`: tail,\n                  \
                host\ntests/  e2e\n```\n";
    assert_eq!(table_rows(text), [("input".into(), "tail".into())]);
    let entries = layout_entries(text);
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0].0, "plugins/inputs/");
    assert!(names_word(&entries[0].1, "host"), "{entries:?}");
    assert!(names_word("a, static, b", "static"));
    assert!(!names_word("static_attrs", "static"));
    assert!(!names_word("http_listener", "http"));
}
