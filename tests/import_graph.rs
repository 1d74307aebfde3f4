//! Holds rpc-core's files free of import circles: no file reaches, through
//! the modules it names in paths (`super::peer::…`, `crate::session::sink::…`,
//! `use super::{a, b::C}`, `super::super::…`), a file that reaches it back.
//! An item named through a directory's re-exports (`crate::session::Peer`,
//! `super::call::Batch`) counts as naming the file it is defined in; the
//! `mod.rs` files themselves are left out, as they declare and re-export
//! their rooms by nature. Each file stays under 450 lines.

#[path = "common/sources.rs"]
mod sources;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sources::rust_files;

const MAX_LINES: usize = 450;

/// The file a module path names, if it names one other than a `mod.rs`:
/// a module's file, or the file an item re-exported by a `mod.rs` comes
/// from. `src` is the crate root, for `crate::` paths in re-exports.
fn file_of(src: &Path, dir: &Path, segments: &[&str]) -> Option<PathBuf> {
    file_within(src, dir, segments, 0)
}

fn file_within(src: &Path, dir: &Path, segments: &[&str], depth: usize) -> Option<PathBuf> {
    let mut at = dir.to_path_buf();
    for segment in segments {
        let file = at.join(format!("{segment}.rs"));
        if file.is_file() {
            return Some(file);
        }
        let room = at.join(segment);
        if room.is_dir() {
            at = room;
            continue;
        }
        return reexported(src, &at, segment, depth);
    }
    None
}

/// The file `item`, named in directory `dir`, comes from through the `use`
/// entries of `dir`'s `mod.rs` (or `lib.rs`).
fn reexported(src: &Path, dir: &Path, item: &str, depth: usize) -> Option<PathBuf> {
    if depth > 8 {
        return None;
    }
    let root = if dir == src { "lib.rs" } else { "mod.rs" };
    let text = std::fs::read_to_string(dir.join(root)).ok()?;
    for entry in use_entries(&text) {
        let (path, name) = match entry.split_once(" as ") {
            Some((path, alias)) => (path.to_owned(), alias.to_owned()),
            None => (entry.clone(), entry.rsplit("::").next()?.to_owned()),
        };
        if name != item {
            continue;
        }
        let (base, rest) = if let Some(rest) = path.strip_prefix("crate::") {
            (src.to_path_buf(), rest)
        } else if let Some(rest) = path.strip_prefix("super::") {
            (dir.parent()?.to_path_buf(), rest)
        } else if let Some(rest) = path.strip_prefix("self::") {
            (dir.to_path_buf(), rest)
        } else {
            (dir.to_path_buf(), path.as_str())
        };
        let segments: Vec<&str> = rest.split("::").collect();
        return file_within(src, &base, &segments, depth + 1);
    }
    None
}

/// Each entry of the `use` statements of `text`, braces expanded, with
/// its visibility dropped.
fn use_entries(text: &str) -> Vec<String> {
    let code: Vec<&str> = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect();
    let joined = code.join("\n");
    let mut entries = Vec::new();
    let mut rest = joined.as_str();
    while let Some(at) = rest.find("use ") {
        let statement_end = rest[at..].find(';').map_or(rest.len(), |end| at + end);
        let statement = rest[at + 4..statement_end].replace(" as ", "#as#");
        entries.extend(
            expand(statement.trim())
                .into_iter()
                .map(|e| e.replace("#as#", " as ")),
        );
        rest = &rest[statement_end.min(rest.len())..];
    }
    entries
}

/// The code of `text` with comments removed, one `use` statement per
/// entry with its braces expanded (`use super::{a, b::C}` gives
/// `super::a` and `super::b::C`), plus every other line as it is.
fn paths_in(text: &str) -> Vec<String> {
    let mut paths = use_entries(text);
    paths.extend(
        text.lines()
            .map(|line| line.split("//").next().unwrap_or("").to_owned()),
    );
    paths
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .flat_map(|part| expand(&format!("{prefix}{part}")))
        .collect()
}

/// The files `file` names through module paths (`super::…`, `self::…`,
/// `crate::…`, in `use` statements or inline).
fn imports(src: &Path, file: &Path, text: &str) -> BTreeSet<PathBuf> {
    let dir = file.parent().unwrap();
    let is_mod = file
        .file_name()
        .is_some_and(|name| name == "mod.rs" || name == "lib.rs");
    let mut found = BTreeSet::new();
    for code in paths_in(text) {
        for start in ["crate::", "super::", "self::"] {
            for (at, _) in code.match_indices(start) {
                let preceded = code[..at].chars().last();
                if preceded.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue; // inside a longer path, or a longer name
                }
                let mut root = match start {
                    "crate::" => src.to_path_buf(),
                    "super::" if is_mod => dir.parent().unwrap().to_path_buf(),
                    _ => dir.to_path_buf(),
                };
                let mut rest = &code[at + start.len()..];
                // `super::super::…` climbs once more for each.
                while let Some(after) = rest.strip_prefix("super::") {
                    root = root.parent().unwrap_or(&root).to_path_buf();
                    rest = after;
                }
                let segments: Vec<&str> = rest
                    .split("::")
                    .map(|s| {
                        s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .next()
                            .unwrap_or("")
                    })
                    .take_while(|s| !s.is_empty())
                    .collect();
                if let Some(target) = file_of(src, &root, &segments) {
                    if target != file {
                        found.insert(target);
                    }
                }
            }
        }
    }
    found
}

/// Every circle among the files under `src`, each as a path of files.
fn circles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let graph: BTreeMap<PathBuf, BTreeSet<PathBuf>> = files
        .iter()
        .filter(|f| !f.ends_with("mod.rs") && !f.ends_with("lib.rs"))
        .map(|f| {
            (
                f.clone(),
                imports(src, f, &std::fs::read_to_string(f).unwrap()),
            )
        })
        .collect();
    let name = |f: &PathBuf| f.strip_prefix(src).unwrap().display().to_string();
    let mut found = Vec::new();
    for start in graph.keys() {
        // Depth-first from `start`, looking for a way back to it.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    let mut names: Vec<String> = path.iter().map(name).collect();
                    names.push(name(start));
                    found.push(names.join(" -> "));
                } else if graph.contains_key(next) && seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found
}

fn core_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rpc-core/src")
}

#[test]
fn no_file_of_the_core_imports_itself_back() {
    let found = circles(&core_src());
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn no_file_of_the_core_is_over_the_line_limit() {
    let mut files = Vec::new();
    rust_files(&core_src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, std::fs::read_to_string(f).unwrap().lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(f, lines)| format!("{}: {lines} lines", f.display()))
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn a_circle_is_caught() {
    let dir = std::env::temp_dir().join(format!("wirecall-circles-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("session")).unwrap();
    std::fs::write(dir.join("session/mod.rs"), "mod a;\nmod b;\nmod c;\n").unwrap();
    std::fs::write(dir.join("session/a.rs"), "use super::b::B;\n").unwrap();
    std::fs::write(
        dir.join("session/b.rs"),
        "use crate::session::c::{self, C};\n",
    )
    .unwrap();
    // A path in a comment does not count: super::b::B
    std::fs::write(
        dir.join("session/c.rs"),
        "// super::a\nfn f() { super::a::go(); }\n",
    )
    .unwrap();
    let found = circles(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        found.contains(&"session/a.rs -> session/b.rs -> session/c.rs -> session/a.rs".to_owned()),
        "{found:?}"
    );
}

#[test]
fn a_circle_through_a_reexport_is_caught() {
    let dir = std::env::temp_dir().join(format!("wirecall-reexports-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("session/call")).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod session;\n").unwrap();
    std::fs::write(
        dir.join("session/mod.rs"),
        "pub(crate) mod call;\nmod state;\npub(crate) use state::Session;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("session/call/mod.rs"),
        "mod batch;\npub use batch::{Batch as Many, BatchSlot};\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("session/call/batch.rs"),
        "use crate::session::Session;\n",
    )
    .unwrap();
    std::fs::write(dir.join("session/state.rs"), "use super::call::Many;\n").unwrap();
    let found = circles(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        found.contains(&"session/state.rs -> session/call/batch.rs -> session/state.rs".to_owned()),
        "{found:?}"
    );
}
