//! Per-call metrics through the `metrics` facade.

use crate::rt::Instant;

use metrics::{counter, gauge, histogram, SharedString};

use crate::router::{Call, Layer, Next, Running};
use crate::telemetry::{CALLS, CALLS_IN_FLIGHT, CALL_DURATION, CALL_ERRORS};

/// Records every call: how many by method, kind and outcome, errors by
/// code, the duration by method, and how many are in flight. The names
/// and labels are in [`telemetry`](crate::telemetry); a method the router
/// does not serve is labelled `unknown`, so a peer sending random names
/// cannot grow the number of series.
///
/// The library installs no recorder: the application picks one (for
/// example `metrics-exporter-prometheus`). Without one, recording costs a
/// look-up per metric and nothing is kept.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    _private: (),
}

impl Metrics {
    /// The layer.
    pub fn new() -> Metrics {
        Metrics::default()
    }
}

/// Counts a call in flight until it is done or dropped.
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        gauge!(CALLS_IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(CALLS_IN_FLIGHT).decrement(1.0);
    }
}

impl Layer for Metrics {
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
        let method: SharedString = if call.is_known() {
            call.method().to_owned().into()
        } else {
            SharedString::const_str("unknown")
        };
        let kind = call.kind().as_str();
        let in_flight = InFlight::start();
        let started = Instant::now();
        let running = next.run();
        Box::pin(async move {
            let outcome = running.await;
            drop(in_flight);
            histogram!(CALL_DURATION, "method" => method.clone())
                .record(started.elapsed().as_secs_f64());
            match &outcome {
                Ok(_) => {
                    counter!(CALLS, "method" => method, "kind" => kind, "outcome" => "ok")
                        .increment(1);
                }
                Err(err) => {
                    let code = err.code.code().to_string();
                    counter!(CALL_ERRORS, "method" => method.clone(), "code" => code).increment(1);
                    counter!(CALLS, "method" => method, "kind" => kind, "outcome" => "error")
                        .increment(1);
                }
            }
            outcome
        })
    }
}
