//! The metrics wirecall records, through the `metrics` facade: their names
//! in one place, and the calls the engine makes on connection events.
//!
//! Nothing here is exported anywhere: the application installs a recorder
//! (an exporter) if it wants the figures. Per-call metrics (by method) come
//! from the `middleware::Metrics` layer, so a server that does not install
//! it pays nothing per call. What is recorded here happens per connection,
//! per batch or per subscription, except bytes and items, which are counted
//! on every flush and every item: those go through counters each
//! connection registers when it opens, since
//! building a metric's key costs about 200 instructions even with no
//! recorder. Install the recorder before connections open; connections
//! opened earlier count their bytes and items nowhere.

use metrics::{counter, gauge, histogram, Counter};

/// Connections upgraded and handed to the engine (server side).
pub const CONNECTIONS_ACCEPTED: &str = "wirecall_connections_accepted_total";
/// Upgrade requests refused, by `reason`: `limit`, `origin`, `hook`, `request`.
pub const CONNECTIONS_REFUSED: &str = "wirecall_connections_refused_total";
/// Connections the engine runs right now, server and client side.
pub const CONNECTIONS_OPEN: &str = "wirecall_connections_open";
/// Connections ended, by `code`: the close code (1000–1015; `3xxx`,
/// `4xxx` for the ranges peers pick from; `other`), or `none` when the
/// socket ended without one.
pub const CONNECTIONS_CLOSED: &str = "wirecall_connections_closed_total";
/// Text and binary frames' payload bytes read.
pub const BYTES_RECEIVED: &str = "wirecall_bytes_received_total";
/// Text frames' payload bytes written.
pub const BYTES_SENT: &str = "wirecall_bytes_sent_total";
/// Batches received.
pub const BATCHES: &str = "wirecall_batches_total";
/// Values per batch received.
pub const BATCH_SIZE: &str = "wirecall_batch_size";
/// Subscriptions this end serves right now.
pub const SUBSCRIPTIONS_ACTIVE: &str = "wirecall_subscriptions_active";
/// Subscription items a sink took to send, queued on the connection or
/// buffered; those a full buffer drops later count in `ITEMS_DROPPED` too.
pub const ITEMS_SENT: &str = "wirecall_subscription_items_sent_total";
/// Subscription items dropped by a full sink, by `policy`: `drop_oldest`
/// (the client is told it lagged) or `close` (the subscription ends; its
/// buffer, lag and resume notices included, is counted).
pub const ITEMS_DROPPED: &str = "wirecall_subscription_items_dropped_total";

/// Calls, notifications, subscribes and unsubscribes handled, by `method`,
/// `kind` (`call`, `notification`, `subscribe`, `unsubscribe`) and
/// `outcome` (`ok`, `error`).
pub const CALLS: &str = "wirecall_calls_total";
/// Calls answered with an error, by `method` and `code`.
pub const CALL_ERRORS: &str = "wirecall_call_errors_total";
/// Seconds from reading a call to its outcome, by `method`.
pub const CALL_DURATION: &str = "wirecall_call_duration_seconds";
/// Calls started and not yet finished.
pub const CALLS_IN_FLIGHT: &str = "wirecall_calls_in_flight";

#[cfg(feature = "server")]
pub(crate) fn connection_accepted() {
    counter!(CONNECTIONS_ACCEPTED).increment(1);
}

#[cfg(feature = "server")]
pub(crate) fn connection_refused(reason: &'static str) {
    counter!(CONNECTIONS_REFUSED, "reason" => reason).increment(1);
}

/// Counts a connection as open for as long as it lives, however its task
/// ends (a panic included).
#[derive(Debug)]
pub(crate) struct OpenConnection(());

impl OpenConnection {
    pub(crate) fn start() -> OpenConnection {
        gauge!(CONNECTIONS_OPEN).increment(1.0);
        OpenConnection(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        gauge!(CONNECTIONS_OPEN).decrement(1.0);
    }
}

pub(crate) fn connection_closed(code: Option<u16>) {
    counter!(CONNECTIONS_CLOSED, "code" => close_code_label(code)).increment(1);
}

/// The codes RFC 6455 defines as themselves; the ranges peers may pick
/// from (3000–4999) as one label each, so a peer cannot grow the number
/// of series.
fn close_code_label(code: Option<u16>) -> String {
    match code {
        None => "none".to_owned(),
        Some(code @ 1000..=1015) => code.to_string(),
        Some(3000..=3999) => "3xxx".to_owned(),
        Some(4000..=4999) => "4xxx".to_owned(),
        Some(_) => "other".to_owned(),
    }
}

/// The counters one connection bumps on its hot paths, registered once
/// when it opens (with no recorder they do nothing, at no cost).
#[derive(Debug, Clone)]
pub(crate) struct ConnectionCounters {
    bytes_received: Counter,
    bytes_sent: Counter,
    items_sent: Counter,
}

impl ConnectionCounters {
    pub(crate) fn register() -> ConnectionCounters {
        ConnectionCounters {
            bytes_received: counter!(BYTES_RECEIVED),
            bytes_sent: counter!(BYTES_SENT),
            items_sent: counter!(ITEMS_SENT),
        }
    }

    pub(crate) fn bytes_received(&self, bytes: usize) {
        self.bytes_received.increment(bytes as u64);
    }

    pub(crate) fn bytes_sent(&self, bytes: usize) {
        self.bytes_sent.increment(bytes as u64);
    }

    pub(crate) fn item_sent(&self) {
        self.items_sent.increment(1);
    }
}

pub(crate) fn batch_received(len: usize) {
    counter!(BATCHES).increment(1);
    // Batch lengths are bounded by `max_batch_len`, far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    histogram!(BATCH_SIZE).record(len as f64);
}

pub(crate) fn subscription_started() {
    gauge!(SUBSCRIPTIONS_ACTIVE).increment(1.0);
}

pub(crate) fn subscription_ended() {
    gauge!(SUBSCRIPTIONS_ACTIVE).decrement(1.0);
}

pub(crate) fn items_dropped(policy: &'static str, count: u64) {
    counter!(ITEMS_DROPPED, "policy" => policy).increment(count);
}

#[cfg(test)]
mod tests {
    use super::close_code_label;

    #[test]
    fn close_codes_a_peer_picks_share_a_label() {
        assert_eq!(close_code_label(Some(1000)), "1000");
        assert_eq!(close_code_label(Some(4321)), "4xxx");
        assert_eq!(close_code_label(Some(3001)), "3xxx");
        assert_eq!(close_code_label(Some(2000)), "other");
        assert_eq!(close_code_label(None), "none");
    }
}
