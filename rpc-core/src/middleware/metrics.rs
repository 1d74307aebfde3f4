//! Per-call metrics through the `metrics` facade.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram, SharedString};

use crate::router::{Call, CallKind, Layer, Next, Running};
use crate::rt::Instant;
use crate::telemetry::{CALLS, CALLS_IN_FLIGHT, CALL_DURATION, CALL_ERRORS};

/// Records every call: how many by method, kind and outcome, errors by
/// code, the duration by method, and how many are in flight. The names
/// and labels are in [`telemetry`](crate::telemetry); a method the router
/// does not serve is labelled `unknown`, so a peer sending random names
/// cannot grow the number of series.
///
/// The library installs no recorder: the application picks one (for
/// example `metrics-exporter-prometheus`). Each method's handles are looked
/// up once and kept (per method and kind, so their number is bounded by the
/// router's methods); a recorder installed later is noticed and the
/// handles are looked up again from it.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    handles: Arc<Mutex<Handles>>,
}

impl Metrics {
    /// The layer.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// The handles for `method` called as `kind`, from the recorder in
    /// force now.
    fn handles(&self, method: &str, kind: CallKind) -> (Arc<MethodHandles>, Gauge) {
        let recorder = recorder_identity();
        let mut handles = self.handles.lock().expect("metrics handles lock");
        if handles.recorder != Some(recorder) {
            // The first call, or a recorder installed since: start afresh.
            *handles = Handles {
                recorder: Some(recorder),
                in_flight: Some(gauge!(CALLS_IN_FLIGHT)),
                methods: Default::default(),
            };
        }
        let in_flight = handles
            .in_flight
            .get_or_insert_with(|| gauge!(CALLS_IN_FLIGHT))
            .clone();
        let of_kind = &mut handles.methods[kind_slot(kind)];
        if let Some(found) = of_kind.get(method) {
            return (found.clone(), in_flight);
        }
        let made = Arc::new(MethodHandles::new(method, kind.as_str()));
        of_kind.insert(method.into(), made.clone());
        (made, in_flight)
    }
}

/// The handles of one recorder.
#[derive(Debug, Default)]
struct Handles {
    /// Which recorder they came from.
    recorder: Option<usize>,
    in_flight: Option<Gauge>,
    /// By kind of call ([`kind_slot`]), then by method: looked up on
    /// every call, so hashed with Fx, as the router's methods are.
    methods: [FxHashMap<Box<str>, Arc<MethodHandles>>; 4],
}

type FxHashMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// Where each kind of call keeps its methods' handles.
fn kind_slot(kind: CallKind) -> usize {
    match kind {
        CallKind::Method => 0,
        CallKind::Notification => 1,
        CallKind::Subscribe => 2,
        CallKind::Unsubscribe => 3,
    }
}

/// One method's series, for one kind of call.
#[derive(Debug)]
struct MethodHandles {
    method: SharedString,
    duration: Histogram,
    ok: Counter,
    failed: Counter,
}

impl MethodHandles {
    fn new(method: &str, kind: &'static str) -> MethodHandles {
        let method = SharedString::from(method.to_owned());
        MethodHandles {
            duration: histogram!(CALL_DURATION, "method" => method.clone()),
            ok: counter!(CALLS, "method" => method.clone(), "kind" => kind, "outcome" => "ok"),
            failed: counter!(CALLS, "method" => method.clone(), "kind" => kind, "outcome" => "error"),
            method,
        }
    }
}

/// Tells one recorder from another (the global one, or a thread's own).
fn recorder_identity() -> usize {
    metrics::with_recorder(|recorder| {
        std::ptr::from_ref::<dyn metrics::Recorder>(recorder).cast::<()>() as usize
    })
}

/// Counts a call in flight until it is done or dropped.
struct InFlight(Gauge);

impl InFlight {
    fn start(gauge: Gauge) -> InFlight {
        gauge.increment(1.0);
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

impl Layer for Metrics {
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
        let method = if call.is_known() {
            call.method()
        } else {
            "unknown"
        };
        let (handles, in_flight) = self.handles(method, call.kind());
        let in_flight = InFlight::start(in_flight);
        let started = Instant::now();
        let running = next.run();
        Box::pin(async move {
            let outcome = running.await;
            drop(in_flight);
            handles.duration.record(started.elapsed().as_secs_f64());
            match &outcome {
                Ok(_) => handles.ok.increment(1),
                Err(err) => {
                    // Errors are rare, and their codes many: looked up each time.
                    let code = err.code.code().to_string();
                    counter!(CALL_ERRORS, "method" => handles.method.clone(), "code" => code)
                        .increment(1);
                    handles.failed.increment(1);
                }
            }
            outcome
        })
    }
}
