//! `wirecall codegen typescript`: the generated modules for the spec, chat
//! and shapes services are guarded by snapshots (`UPDATE_SNAPSHOTS=1`
//! writes them anew), are the same bytes from a file and from a live
//! server, and compile under `tsc --strict` together with a file that uses
//! them (`tests/codegen/usage.ts`).

#[path = "../../examples/chat/api.rs"]
mod chat_api;
#[path = "../../tests/common/server.rs"]
#[allow(dead_code)] // only `serve` is used here
mod server;
#[path = "../../examples/spec/service.rs"]
#[allow(dead_code)] // the example's own entry points are not used here
mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use spec::SpecServer;
use wirecall::{ErrorObject, PendingSubscription, RpcError};

/// A colour by name: a string enum.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Colour {
    Red,
    Green,
}

/// A size given either way: an untagged union.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
enum Size {
    Named(String),
    Points(u32),
}

/// A shape: a tagged union with fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Shape {
    /// A circle around the origin.
    Circle { radius: f64 },
    /// A polygon through its corners.
    Polygon { corners: Vec<(f64, f64)> },
}

/// A drawing: every kind of member a schema can give.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Drawing {
    /// Its name, unique on the canvas.
    name: String,
    colour: Colour,
    size: Option<Size>,
    shapes: Vec<Shape>,
    tags: BTreeMap<String, u32>,
    /// Big enough to need a `bigint` past 2^53.
    serial: u64,
}

#[derive(Debug, PartialEq, RpcError)]
enum CanvasError {
    #[rpc_error(code = 2001, message = "no such drawing")]
    Missing { name: String },
    #[rpc_error(code = 2002, message = "the canvas is full")]
    Full,
}

/// A canvas of drawings, to try every kind of type the generator writes.
#[wirecall::rpc(server, openrpc, namespace = "canvas")]
trait Shapes {
    /// Adds a drawing; answers its serial.
    #[method(name = "add")]
    async fn add(&self, drawing: Drawing) -> Result<u64, CanvasError>;

    /// The drawing called `name`, if any.
    #[method(name = "get", param_kind = map, idempotent)]
    async fn get(
        &self,
        name: String,
        with_tags: Option<bool>,
    ) -> Result<Option<Drawing>, CanvasError>;

    /// Colours in use and how often.
    #[method(name = "colours")]
    async fn colours(&self) -> Result<BTreeMap<String, u64>, ErrorObject>;

    /// Use `canvas_get`.
    #[deprecated = "use canvas_get"]
    #[method(name = "find")]
    async fn find(&self, name: String) -> Result<Vec<Drawing>, ErrorObject>;

    /// Drawings as they are added.
    #[subscription(name = "watch", unsubscribe = "unwatch", notification = "drawn", item = Drawing)]
    async fn watch(&self, sink: PendingSubscription<Drawing>, colour: Option<Colour>);
}

struct Canvas;

#[allow(deprecated)]
impl ShapesServer for Canvas {
    async fn add(&self, _drawing: Drawing) -> Result<u64, CanvasError> {
        Err(CanvasError::Full)
    }

    async fn get(&self, name: String, _: Option<bool>) -> Result<Option<Drawing>, CanvasError> {
        Err(CanvasError::Missing { name })
    }

    async fn colours(&self) -> Result<BTreeMap<String, u64>, ErrorObject> {
        Ok(BTreeMap::new())
    }

    async fn find(&self, _name: String) -> Result<Vec<Drawing>, ErrorObject> {
        Ok(Vec::new())
    }

    async fn watch(&self, sink: PendingSubscription<Drawing>, _: Option<Colour>) {
        let _ = sink.accept();
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Each service's document and the file its module is kept in.
fn services() -> Vec<(&'static str, serde_json::Value, PathBuf)> {
    let as_json =
        |router: wirecall::Router| serde_json::to_value(router.openrpc().unwrap()).unwrap();
    vec![
        (
            "spec",
            as_json(spec::SpecService.into_router()),
            repo().join("wirecall-cli/tests/codegen/spec.ts"),
        ),
        (
            "shapes",
            as_json(Canvas.into_router()),
            repo().join("wirecall-cli/tests/codegen/shapes.ts"),
        ),
        (
            "chat",
            serde_json::to_value(chat_api::chat_openrpc()).unwrap(),
            repo().join("examples/chat/web/chat_api.ts"),
        ),
    ]
}

/// Runs `wirecall codegen typescript SOURCE -o -`; its output.
fn generate(source: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wirecall"))
        .args(["codegen", "typescript", source, "-o", "-"])
        .output()
        .expect("the command runs");
    assert!(
        out.status.success(),
        "codegen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirecall-codegen-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn generated_modules_match_their_snapshots() {
    let dir = scratch("snapshots");
    let update = std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1");
    for (name, document, snapshot) in services() {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&document).unwrap()).unwrap();
        let module = generate(file.to_str().unwrap());
        // Deterministic: the same document gives the same bytes.
        assert_eq!(module, generate(file.to_str().unwrap()), "{name}");
        if update {
            std::fs::write(&snapshot, &module).unwrap();
            continue;
        }
        let kept = std::fs::read_to_string(&snapshot).unwrap_or_default();
        assert!(
            kept == module,
            "{} differs from what codegen writes for the {name} service; if the change is \
             meant, run `UPDATE_SNAPSHOTS=1 cargo test -p wirecall-cli --test codegen`",
            snapshot.display()
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_live_server_gives_the_same_module_as_its_document() {
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        return; // the snapshots are being written by the other test
    }
    let (_server, url) = server::serve(spec::SpecService.into_router()).await;
    let from_server = tokio::task::spawn_blocking(move || generate(&url))
        .await
        .unwrap();
    let (_, _, snapshot) = &services()[0];
    assert_eq!(from_server, std::fs::read_to_string(snapshot).unwrap());
}

#[test]
fn a_source_that_is_not_a_document_is_refused() {
    let dir = scratch("refused");
    let file = dir.join("not.json");
    std::fs::write(&file, r#"{"hello": 1}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wirecall"))
        .args(["codegen", "typescript", file.to_str().unwrap(), "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not hold an OpenRPC document"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `tsc` from the TypeScript client's packages (`npm ci` in
/// clients/typescript), or `None` with a notice outside CI.
fn tsc() -> Option<PathBuf> {
    let tsc = repo().join("clients/typescript/node_modules/.bin/tsc");
    if tsc.exists() {
        return Some(tsc);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "clients/typescript must have its packages under CI (.ci/run runs npm ci there)"
    );
    println!("skipped: run `npm ci --prefix clients/typescript` to compile the generated code");
    None
}

#[test]
fn generated_modules_compile_under_strict_typescript() {
    let Some(tsc) = tsc() else { return };
    let project = repo().join("wirecall-cli/tests/codegen/tsconfig.json");
    let out = Command::new(tsc)
        .args(["--noEmit", "-p", project.to_str().unwrap()])
        .output()
        .expect("tsc runs");
    assert!(
        out.status.success(),
        "tsc --strict failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
