//! The `tracing` spans a server and a client make, captured by a
//! subscriber set for the test: one per connection, one per call with its
//! method, id and outcome, handler events inside their call's span, and one
//! per outgoing call.

#[path = "common/raw.rs"]
#[allow(dead_code)] // `connect` and `ask` are used here
mod raw;
#[path = "common/server.rs"]
#[allow(dead_code)] // only its router and `serve` are used here
mod server;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use wirecall::middleware::Trace;
use wirecall::{Client, Context, ErrorObject, Params};

/// One span as the capture saw it.
#[derive(Debug, Clone, Default)]
struct SeenSpan {
    name: String,
    parent: Option<String>,
    fields: HashMap<String, String>,
}

#[derive(Debug, Default)]
struct Seen {
    spans: HashMap<u64, SeenSpan>,
    /// Each event's message with the span it happened in.
    events: Vec<(String, Option<u64>)>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Seen>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> tracing_subscriber::Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let mut span = SeenSpan {
            name: attrs.metadata().name().to_owned(),
            ..SeenSpan::default()
        };
        attrs.record(&mut Fields(&mut span.fields));
        span.parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.name().to_owned());
        self.0.lock().unwrap().spans.insert(id.into_u64(), span);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: LayerContext<'_, S>) {
        if let Some(span) = self.0.lock().unwrap().spans.get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let current = ctx.lookup_current().map(|s| s.id().into_u64());
        self.0.lock().unwrap().events.push((message, current));
    }
}

impl Capture {
    fn calls(&self, name: &str, method: &str) -> Vec<SeenSpan> {
        self.0
            .lock()
            .unwrap()
            .spans
            .values()
            .filter(|s| {
                s.name == name && s.fields.get("rpc.method").map(String::as_str) == Some(method)
            })
            .cloned()
            .collect()
    }
}

#[tokio::test]
async fn calls_run_in_spans_named_after_the_conventions() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);

    let mut router = server::test_router();
    router
        .method("greet", |p: Params<'_>, _: &Context| {
            let name: String = p.reader()?.next("name")?;
            tracing::info!("greeting in the handler");
            Ok(async move { Ok::<_, ErrorObject>(format!("hello {name}")) })
        })
        .unwrap();
    router.layer(Trace::new());
    let (_server, url) = server::serve(router).await;

    let mut socket = raw::connect(&url).await;
    for frame in [
        json!({"jsonrpc": "2.0", "id": 7, "method": "greet", "params": ["ada"]}),
        json!({"jsonrpc": "2.0", "id": "x8", "method": "nope"}),
    ] {
        let answer = raw::ask(&mut socket, &frame).await;
        assert_eq!(answer["id"], frame["id"]);
    }

    let greet = capture.calls("jsonrpc.call", "greet");
    assert_eq!(greet.len(), 1, "{greet:?}");
    let greet = &greet[0];
    assert_eq!(greet.fields["rpc.system"], "jsonrpc");
    assert_eq!(greet.fields["otel.name"], "greet");
    assert_eq!(greet.fields["otel.kind"], "server");
    assert_eq!(greet.fields["jsonrpc.request.id"], "7");
    assert_eq!(greet.fields["outcome"], "ok");
    assert_eq!(greet.parent.as_deref(), Some("jsonrpc.connection"));

    let nope = &capture.calls("jsonrpc.call", "nope")[0];
    assert_eq!(
        nope.fields["jsonrpc.request.id"], r#""x8""#,
        "the id as JSON"
    );
    assert_eq!(nope.fields["outcome"], "error");
    assert_eq!(nope.fields["rpc.response.status_code"], "-32601");

    {
        let seen = capture.0.lock().unwrap();
        let (_, span) = seen
            .events
            .iter()
            .find(|(message, _)| message == "greeting in the handler")
            .expect("the handler's event");
        let span = &seen.spans[&span.expect("inside a span")];
        assert_eq!(span.fields["rpc.method"], "greet", "{span:?}");
        let connection = seen
            .spans
            .values()
            .find(|s| s.name == "jsonrpc.connection")
            .expect("a connection span");
        assert!(
            connection.fields.contains_key("connection.id"),
            "{connection:?}"
        );
        assert!(
            connection.fields["network.peer.address"].starts_with("127.0.0.1:"),
            "{connection:?}"
        );
    }

    // An outgoing call from a client has a span of its own.
    let client = Client::connect(&url).await.unwrap();
    assert_eq!(client.call::<i64>("add", [2, 2]).await.unwrap(), 4);
    let outgoing = capture.calls("jsonrpc.client_call", "add");
    assert_eq!(outgoing.len(), 1, "{outgoing:?}");
    assert_eq!(outgoing[0].fields["otel.kind"], "client");
    assert!(outgoing[0].fields.contains_key("jsonrpc.request.id"));
}
