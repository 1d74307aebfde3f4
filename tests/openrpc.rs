//! OpenRPC documents written by `#[rpc(openrpc)]`: what they say about
//! every kind of item, `rpc.discover` over a real socket, merged routers,
//! and the official meta-schema's verdict on the spec, chat and test
//! services (checked by tests/openrpc/validate.js with Node; without Node
//! and its packages it prints "skipped", and fails under CI).

#[path = "../examples/chat/api.rs"]
mod chat_api;
#[path = "common/raw.rs"]
mod raw;
#[path = "common/server.rs"]
#[allow(dead_code)] // only `serve` is used here
mod server;
#[path = "../examples/spec/service.rs"]
#[allow(dead_code)] // the example's own entry points are not used here
mod spec;

use std::path::{Path, PathBuf};

use plot::PlotServer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spec::SpecServer;
use wirecall::openrpc::{Document, ErrorSpec, ParamStructure};
use wirecall::{Context, ErrorObject, PendingSubscription, Router, RpcError};

/// A point on a board.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, PartialEq, RpcError)]
enum BoardError {
    #[rpc_error(code = 4001, message = "off the board")]
    OffBoard { x: i32, y: i32 },
    #[rpc_error(code = 4002, message = "the board is full")]
    Full,
}

/// A drawing board.
///
/// Everything the macro can describe, in one service.
#[wirecall::rpc(server, client, openrpc, namespace = "board")]
trait Board {
    /// Places a point.
    ///
    /// Answers how many points the board holds after it.
    #[method(name = "place", aliases = ["put"])]
    async fn place(
        &self,
        /// Where the point goes.
        at: Point,
        /// A name shown beside it.
        ///
        /// Up to 20 characters.
        label: Option<String>,
    ) -> Result<u32, BoardError>;

    /// Clears the board, by name; clearing twice is clearing once.
    #[method(name = "clear", param_kind = map, idempotent)]
    async fn clear(
        &self,
        ctx: Context,
        #[arg(rename = "keepLabels")] keep: bool,
    ) -> Result<(), ErrorObject>;

    /// The old way to clear.
    #[deprecated = "use board_clear"]
    #[method(name = "wipe")]
    async fn wipe(&self) -> Result<(), ErrorObject>;

    /// Someone looked at the board.
    #[notification(name = "seen")]
    async fn seen(&self, who: String);

    /// Points as they are placed.
    #[subscription(name = "watch", unsubscribe = "unwatch", notification = "placed", item = Point)]
    async fn watch(&self, sink: PendingSubscription<Point>, from: Option<u32>);
}

struct BoardService;

/// A service with a type of the same name as the board's.
mod plot {
    use schemars::JsonSchema;
    use serde::Deserialize;
    use wirecall::ErrorObject;

    /// A point in time.
    #[derive(Deserialize, JsonSchema)]
    pub(crate) struct Point {
        pub(crate) t: f64,
    }

    #[wirecall::rpc(server, openrpc)]
    pub(crate) trait Plot {
        #[method(name = "plot_at")]
        async fn at(&self, at: Point) -> Result<f64, ErrorObject>;
    }

    pub(crate) struct PlotService;

    impl PlotServer for PlotService {
        async fn at(&self, at: Point) -> Result<f64, ErrorObject> {
            Ok(at.t)
        }
    }
}

#[allow(deprecated)]
impl BoardServer for BoardService {
    async fn place(&self, at: Point, _label: Option<String>) -> Result<u32, BoardError> {
        if at.x < 0 || at.y < 0 {
            return Err(BoardError::OffBoard { x: at.x, y: at.y });
        }
        Ok(1)
    }

    async fn clear(&self, _ctx: Context, _keep: bool) -> Result<(), ErrorObject> {
        Ok(())
    }

    async fn wipe(&self) -> Result<(), ErrorObject> {
        Ok(())
    }

    async fn seen(&self, _who: String) {}

    async fn watch(&self, sink: PendingSubscription<Point>, _from: Option<u32>) {
        let _ = sink.accept();
    }
}

fn schema_of<'a>(document: &'a Document, method: &str, param: &str) -> &'a Value {
    document.resolve(
        &document
            .method(method)
            .unwrap()
            .param(param)
            .unwrap()
            .schema,
    )
}

#[test]
fn the_document_describes_every_kind_of_item() {
    let document = BoardService.into_router().openrpc().unwrap().clone();
    assert_eq!(document.openrpc, "1.3.2");
    assert_eq!(document.info.title, "Board");
    assert_eq!(document.info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        document.info.description.as_deref(),
        Some("A drawing board.\n\nEverything the macro can describe, in one service.")
    );
    let names: Vec<&str> = document.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "board_place",
            "put",
            "board_clear",
            "board_wipe",
            "board_seen",
            "board_watch",
            "board_unwatch"
        ]
    );

    let place = document.method("board_place").unwrap();
    assert_eq!(place.summary.as_deref(), Some("Places a point."));
    assert_eq!(
        place.description.as_deref(),
        Some("Places a point.\n\nAnswers how many points the board holds after it.")
    );
    assert_eq!(place.param_structure, ParamStructure::Either);
    let at = place.param("at").unwrap();
    assert!(at.required);
    // A parameter's doc comment is its summary (and description).
    assert_eq!(at.summary.as_deref(), Some("Where the point goes."));
    assert_eq!(at.description, None);
    let label = place.param("label").unwrap();
    assert_eq!(label.summary.as_deref(), Some("A name shown beside it."));
    assert_eq!(
        label.description.as_deref(),
        Some("A name shown beside it.\n\nUp to 20 characters.")
    );
    assert_eq!(at.schema, json!({"$ref": "#/components/schemas/Point"}));
    assert_eq!(
        schema_of(&document, "board_place", "at")["required"],
        json!(["x", "y"])
    );
    assert!(
        !place.param("label").unwrap().required,
        "an Option may be left out"
    );
    assert_eq!(place.result.as_ref().unwrap().schema["type"], "integer");
    assert_eq!(
        place.errors,
        [
            ErrorSpec::new(4001, "off the board"),
            ErrorSpec::new(4002, "the board is full")
        ]
    );
    let alias = document.method("put").unwrap();
    assert_eq!(alias.params, place.params);
    assert_eq!(
        alias.description.as_deref(),
        Some("Another name for `board_place`.")
    );

    // The context is the server's, not a param; renamed params use their wire name.
    let clear = document.method("board_clear").unwrap();
    let params: Vec<&str> = clear.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(params, ["keepLabels"]);
    assert_eq!(
        clear.result.as_ref().unwrap().schema,
        json!({"type": "null"})
    );
    assert!(clear.errors.is_empty());
    assert!(!clear.deprecated);
    // Safe to send twice, so a reconnecting client of any language may.
    assert!(clear.idempotent);
    assert!(!document.method("board_place").unwrap().idempotent);
    assert!(document.method("board_wipe").unwrap().deprecated);

    // A notification has no result.
    let seen = document.method("board_seen").unwrap();
    assert!(seen.result.is_none());
    assert_eq!(seen.params[0].schema, json!({"type": "string"}));

    let watch = document.method("board_watch").unwrap();
    let subscription = watch.subscription.as_ref().unwrap();
    assert_eq!(subscription.notification, "placed");
    assert_eq!(subscription.unsubscribe, "board_unwatch");
    assert_eq!(
        subscription.item,
        json!({"$ref": "#/components/schemas/Point"})
    );
    assert_eq!(
        watch.result.as_ref().unwrap().schema,
        json!({"type": "string"})
    );
    let unwatch = document.method("board_unwatch").unwrap();
    assert!(unwatch.param("subscription").unwrap().required);
    assert_eq!(
        unwatch.result.as_ref().unwrap().schema,
        json!({"type": "boolean"})
    );
}

#[tokio::test]
async fn rpc_discover_answers_over_a_socket() {
    let (_server, url) = server::serve(BoardService.into_router()).await;
    let mut socket = raw::connect(&url).await;
    let answer = raw::ask(
        &mut socket,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"}),
    )
    .await;
    assert_eq!(answer["id"], 1);
    let served: Document = serde_json::from_value(answer["result"].clone()).unwrap();
    assert_eq!(&served, BoardService.into_router().openrpc().unwrap());
    // rpc.discover takes no params.
    let refused = raw::ask(
        &mut socket,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "rpc.discover", "params": [1]}),
    )
    .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
}

#[tokio::test]
async fn merged_routers_serve_one_merged_document() {
    let mut router = BoardService.into_router();
    router.merge(spec::SpecService.into_router()).unwrap();
    // Another service's `Point` is another schema: it is renamed.
    router.merge(plot::PlotService.into_router()).unwrap();
    let mut plain = Router::new();
    plain
        .method("ping", |_: wirecall::Params<'_>, _: &Context| {
            Ok(async { Ok::<_, ErrorObject>("pong") })
        })
        .unwrap();
    // A router without a document merges too; its methods stay undescribed.
    router.merge(plain).unwrap();
    let document = router.openrpc().unwrap();
    assert_eq!(document.info.title, "Board");
    assert_eq!(
        document.method("plot_at").unwrap().params[0].schema,
        json!({"$ref": "#/components/schemas/Point2"})
    );
    assert_eq!(
        schema_of(document, "plot_at", "at")["required"],
        json!(["t"])
    );
    assert_eq!(
        schema_of(document, "board_place", "at")["required"],
        json!(["x", "y"])
    );
    assert!(document.method("board_place").is_some() && document.method("subtract").is_some());
    assert!(document.method("ping").is_none());

    let (_server, url) = server::serve(router).await;
    let mut socket = raw::connect(&url).await;
    let answer = raw::ask(
        &mut socket,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"}),
    )
    .await;
    let served: Document = serde_json::from_value(answer["result"].clone()).unwrap();
    assert!(served.method("subscribe_counter").is_some() && served.method("board_watch").is_some());
    let pong = raw::ask(
        &mut socket,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
    )
    .await;
    assert_eq!(pong["result"], "pong");
}

/// A service written without `openrpc`.
#[wirecall::rpc(server)]
trait Quiet {
    #[method(name = "hush")]
    async fn hush(&self) -> Result<(), ErrorObject>;
}

struct QuietService;

impl QuietServer for QuietService {
    async fn hush(&self) -> Result<(), ErrorObject> {
        Ok(())
    }
}

#[tokio::test]
async fn a_router_without_a_document_does_not_serve_rpc_discover() {
    let router = QuietService.into_router();
    assert!(router.openrpc().is_none());
    let reply = router
        .handle(r#"{"jsonrpc":"2.0","method":"rpc.discover","id":1}"#)
        .await
        .unwrap();
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["error"]["code"], -32601, "{reply}");
}

/// tests/openrpc, with its packages installed (`npm ci` there), or `None`
/// with a notice when Node or the packages are missing outside CI.
fn validator() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openrpc");
    let node = std::process::Command::new("node").arg("--version").output();
    let ready = node.is_ok_and(|out| out.status.success())
        && dir.join("node_modules/@open-rpc/meta-schema").exists();
    if ready {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "node and the packages of tests/openrpc must be installed under CI (.ci/run runs npm ci there)"
    );
    println!("skipped: run `npm ci --prefix tests/openrpc` (with Node installed) to check documents against the OpenRPC meta-schema");
    None
}

/// Runs the validator on `documents`; its exit status and report.
fn validate(dir: &Path, documents: &[(&str, Value)]) -> (bool, String) {
    let scratch = std::env::temp_dir().join(format!("wirecall-openrpc-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let files: Vec<PathBuf> = documents
        .iter()
        .map(|(name, document)| {
            let file = scratch.join(format!("{name}.json"));
            std::fs::write(&file, document.to_string()).unwrap();
            file
        })
        .collect();
    let out = std::process::Command::new("node")
        .arg(dir.join("validate.js"))
        .args(&files)
        .output()
        .expect("node runs");
    std::fs::remove_dir_all(&scratch).unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

#[test]
fn documents_pass_the_openrpc_meta_schema() {
    let Some(dir) = validator() else { return };
    let as_json = |router: Router| serde_json::to_value(router.openrpc().unwrap()).unwrap();
    let mut merged = BoardService.into_router();
    merged.merge(spec::SpecService.into_router()).unwrap();
    merged.merge(plot::PlotService.into_router()).unwrap();
    let documents = [
        ("spec", as_json(spec::SpecService.into_router())),
        (
            "chat",
            serde_json::to_value(chat_api::chat_openrpc()).unwrap(),
        ),
        ("board", as_json(BoardService.into_router())),
        ("merged", as_json(merged)),
    ];
    let (valid, report) = validate(&dir, &documents);
    assert!(valid, "{report}");
    assert_eq!(
        report.matches(": valid").count(),
        documents.len(),
        "{report}"
    );

    // The check can fail: a param without a schema is not OpenRPC.
    let mut broken = documents[0].1.clone();
    broken["methods"][0]["params"][0]
        .as_object_mut()
        .unwrap()
        .remove("schema");
    let (valid, report) = validate(&dir, &[("broken", broken)]);
    assert!(
        !valid && report.contains("broken.json: invalid"),
        "{report}"
    );
}
