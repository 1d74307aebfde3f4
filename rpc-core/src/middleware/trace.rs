//! A `tracing` span around every call, named and attributed after the
//! OpenTelemetry conventions for JSON-RPC.

use tracing::field::Empty;
use tracing::Instrument;

use crate::router::{Call, Layer, Next, Running};

/// Runs every call, notification and subscribe inside a span of its own,
/// so the handler's own `tracing` events carry the method and id.
///
/// The span is `jsonrpc.call` at `INFO`, a child of the connection's
/// `jsonrpc.connection` span, with these fields:
///
/// | field | value |
/// |---|---|
/// | `otel.name` | the method (the name OpenTelemetry exporters give the span) |
/// | `otel.kind` | `server` |
/// | `rpc.system` | `jsonrpc` |
/// | `rpc.method` | the method |
/// | `jsonrpc.protocol.version` | `2.0` |
/// | `jsonrpc.request.id` | the id, as JSON text; absent for a notification |
/// | `wirecall.kind` | `call`, `notification` or `subscribe` |
/// | `outcome` | `ok` or `error`, once the call is done |
/// | `rpc.response.status_code` | the error code, for an error |
/// | `error.message` | the error message, for an error |
///
/// A subscription's handler keeps running in its subscribe call's span.
/// With no subscriber interested, a span is a cheap no-op.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    _private: (),
}

impl Trace {
    /// The layer.
    pub fn new() -> Trace {
        Trace::default()
    }
}

impl Layer for Trace {
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
        let span = tracing::info_span!(
            "jsonrpc.call",
            otel.name = call.method(),
            otel.kind = "server",
            rpc.system = "jsonrpc",
            rpc.method = call.method(),
            jsonrpc.protocol.version = "2.0",
            jsonrpc.request.id = Empty,
            wirecall.kind = call.kind().as_str(),
            outcome = Empty,
            rpc.response.status_code = Empty,
            error.message = Empty,
        );
        if span.is_disabled() {
            return next.run();
        }
        if let Some(id) = call.id() {
            span.record("jsonrpc.request.id", tracing::field::display(id));
        }
        let running = span.in_scope(|| next.run());
        let record = span.clone();
        Box::pin(
            async move {
                let outcome = running.await;
                match &outcome {
                    Ok(_) => {
                        record.record("outcome", "ok");
                    }
                    Err(err) => {
                        record.record("outcome", "error");
                        record.record("rpc.response.status_code", err.code.code());
                        record.record("error.message", err.message.as_str());
                    }
                }
                outcome
            }
            .instrument(span),
        )
    }
}
