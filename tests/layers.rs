//! Holds rpc-core to its stack: each layer imports only the layers below it
//! (docs/ARCHITECTURE.md draws the same order). Reads the source as text and
//! fails on any `crate::…` path that reaches up or sideways.

#[path = "common/sources.rs"]
mod sources;

use std::path::Path;

use sources::rust_files;

/// The layers from the bottom up, each with the layers it may use.
const LAYERS: [(&str, &[&str]); 10] = [
    // The metric names and the calls that record them: used at every level.
    ("telemetry", &[]),
    // Tasks, timers and the clock, from tokio or the browser: used at every level.
    ("rt", &[]),
    ("protocol", &[]),
    // The service description, beside the protocol.
    ("openrpc", &["protocol"]),
    ("session", &["protocol", "telemetry", "rt"]),
    (
        "router",
        &["protocol", "openrpc", "session", "telemetry", "rt"],
    ),
    // The shipped per-call layers, beside the engine.
    (
        "middleware",
        &["protocol", "session", "router", "telemetry", "rt"],
    ),
    ("io", &["protocol", "session", "router", "telemetry", "rt"]),
    (
        "server",
        &["protocol", "session", "router", "io", "telemetry", "rt"],
    ),
    // Beside the stack: topics feed subscription sinks, registered on a router.
    ("bus", &["protocol", "session", "router", "telemetry", "rt"]),
];

/// The rooms of `session`, each with the rooms it may use besides the
/// session's core (the files at its top, which hold the shared state and
/// compose the rooms' tables). Across rooms a file names
/// `crate::session::<room>`; within its room, `super::`.
const SESSION_ROOMS: [(&str, &[&str]); 4] = [
    // What this end feeds: sinks, pending subscribe calls, served table.
    ("serve", &[]),
    // What a caller's connection keeps: pending calls, batches, received queues.
    ("call", &[]),
    // Reconnection: the link a peer reaches, durable or fixed.
    ("link", &["call"]),
    // What users hold: Peer, Subscription, outgoing layers.
    ("handle", &["call", "link"]),
];

/// The layer a file belongs to: its first path component under `src/`.
fn layer_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// Every `crate::name` in the code of `text` (comments skipped).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push((number + 1, name));
            rest = after;
        }
    }
    found
}

/// What breaks the order, one line per offending path.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    for file in &files {
        let Some(layer) = layer_of(src, file) else {
            continue;
        };
        let Some((_, allowed)) = LAYERS.iter().find(|(name, _)| *name == layer) else {
            broken.push(format!(
                "{}: `{layer}` is not a declared layer",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(src).unwrap().display();
        if layer == "session" {
            broken.extend(room_violations(src, file, &text));
        }
        for (line, target) in crate_paths(&text) {
            let ok = target == layer || allowed.contains(&target.as_str());
            if !ok {
                broken.push(format!("{shown}:{line}: `{layer}` uses `crate::{target}`"));
            }
        }
    }
    broken
}

/// What breaks the order of `session`'s rooms in `file`.
fn room_violations(src: &Path, file: &Path, text: &str) -> Vec<String> {
    let relative = file.strip_prefix(src.join("session")).unwrap();
    let mut parts = relative.components();
    let first = parts
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap()
        .to_owned();
    if parts.next().is_none() {
        return Vec::new(); // the core
    }
    let shown = file.strip_prefix(src).unwrap().display();
    let Some((_, allowed)) = SESSION_ROOMS.iter().find(|(name, _)| *name == first) else {
        return vec![format!("{shown}: `session/{first}` is not a declared room")];
    };
    let mut broken = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if code.contains("super::super::") {
            broken.push(format!(
                "{shown}:{}: reaches out of its room with `super::super`",
                number + 1
            ));
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::session::") {
            let after = &rest[at + "crate::session::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let is_room = SESSION_ROOMS.iter().any(|(room, _)| *room == name);
            if is_room && name != first && !allowed.contains(&name.as_str()) {
                broken.push(format!(
                    "{shown}:{}: `session/{first}` uses `crate::session::{name}`",
                    number + 1
                ));
            }
            rest = after;
        }
    }
    broken
}

#[test]
fn each_layer_of_the_core_imports_only_those_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("rpc-core/src");
    let broken = violations(&src);
    assert!(
        broken.is_empty(),
        "imports against the layer order:\n{}",
        broken.join("\n")
    );
}

#[test]
fn an_upward_import_is_caught() {
    let dir = std::env::temp_dir().join(format!("wirecall-layers-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("session")).unwrap();
    std::fs::write(
        dir.join("session/peer.rs"),
        "use crate::protocol::Id;\n// crate::io in a comment is fine\nuse crate::router::Router;\n",
    )
    .unwrap();
    std::fs::write(dir.join("lib.rs"), "pub use crate::io::Connection;\n").unwrap();
    let broken = violations(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(
        broken[0].ends_with("peer.rs:3: `session` uses `crate::router`"),
        "{broken:?}"
    );
}

#[test]
fn a_room_reaching_above_itself_is_caught() {
    let dir = std::env::temp_dir().join(format!("wirecall-rooms-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("session/call")).unwrap();
    std::fs::write(
        dir.join("session/call/batch.rs"),
        "use crate::session::Session;
use crate::session::link::Link;
use super::super::handle::Peer;
",
    )
    .unwrap();
    std::fs::write(
        dir.join("session/state.rs"),
        "use super::call::Batch;
",
    )
    .unwrap();
    let broken = violations(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(
        broken[0].ends_with("batch.rs:2: `session/call` uses `crate::session::link`"),
        "{broken:?}"
    );
    assert!(
        broken[1].ends_with("batch.rs:3: reaches out of its room with `super::super`"),
        "{broken:?}"
    );
}
