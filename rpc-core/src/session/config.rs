//! The limits and timers of one connection.

use std::time::Duration;

use super::handle::OutgoingLayers;

/// Limits and timers of one connection, the same for both ends.
///
/// Every bound here is what keeps a connection's memory fixed no matter what
/// the peer does.
///
/// # Examples
///
/// ```
/// use wirecall::ConnectionConfig;
/// use std::time::Duration;
///
/// let config = ConnectionConfig::default()
///     .max_in_flight(16)
///     .call_timeout(Duration::from_secs(5));
/// assert_eq!(config.outbound_capacity, 256);
/// ```
///
/// It is `#[non_exhaustive]`: its fields can be read, and are set through
/// the methods of the same names, so a new setting is not a breaking change.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// Incoming calls handled at once (a batch counts once per entry, up to
    /// this bound). When all are busy, request frames wait and, at two waiting,
    /// the connection stops reading. Default 64.
    pub max_in_flight: usize,
    /// Frames other tasks queue for the connection's I/O task. When full,
    /// handlers wait to reply and, through `max_in_flight`, reading stops.
    /// Default 256.
    pub outbound_capacity: usize,
    /// Entries allowed in one incoming batch; a longer batch is answered with
    /// one -32600 error. Default 1000.
    pub max_batch_len: usize,
    /// Subscriptions this end serves at once on the connection. Default 1024.
    pub max_subscriptions: usize,
    /// Bytes the subscriptions this end serves may hold buffered on the
    /// connection, all together. Past it, a subscription that already holds
    /// an item treats its buffer as full and its
    /// [`OverflowPolicy`](super::OverflowPolicy) applies. Default 4 MiB.
    pub subscription_bytes: usize,
    /// Outgoing calls awaiting an answer at once; further calls wait. Default 1024.
    pub max_pending_calls: usize,
    /// How long an outgoing call waits for its answer. Default 30 s.
    pub call_timeout: Duration,
    /// Send a ping after this long without hearing from the peer. Default 30 s.
    pub ping_interval: Option<Duration>,
    /// Close the connection (code 1001) after this long without hearing from
    /// the peer. Default 75 s.
    pub idle_timeout: Option<Duration>,
    /// Close the connection when a write makes no progress for this long (a
    /// peer that does not read). Default 30 s.
    pub write_timeout: Duration,
    /// Events buffered per subscription on the receiving end before the oldest
    /// item is dropped and counted as lagged. Default 4096.
    pub subscription_buffer: usize,
    /// Layers around the calls and notifications this end sends through
    /// its [`Peer`](super::Peer). Default none.
    pub outgoing: OutgoingLayers,
}

impl Default for ConnectionConfig {
    fn default() -> ConnectionConfig {
        ConnectionConfig {
            max_in_flight: 64,
            outbound_capacity: 256,
            max_batch_len: 1000,
            max_subscriptions: 1024,
            subscription_bytes: 4 << 20,
            max_pending_calls: 1024,
            call_timeout: Duration::from_secs(30),
            ping_interval: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(75)),
            write_timeout: Duration::from_secs(30),
            subscription_buffer: 4096,
            outgoing: OutgoingLayers::default(),
        }
    }
}

impl ConnectionConfig {
    /// Incoming calls handled at once. See the field for its default.
    #[must_use]
    pub fn max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// Frames queued for the connection's I/O task. See the field for its default.
    #[must_use]
    pub fn outbound_capacity(mut self, outbound_capacity: usize) -> Self {
        self.outbound_capacity = outbound_capacity;
        self
    }

    /// Entries allowed in one incoming batch. See the field for its default.
    #[must_use]
    pub fn max_batch_len(mut self, max_batch_len: usize) -> Self {
        self.max_batch_len = max_batch_len;
        self
    }

    /// Subscriptions this end serves at once. See the field for its default.
    #[must_use]
    pub fn max_subscriptions(mut self, max_subscriptions: usize) -> Self {
        self.max_subscriptions = max_subscriptions;
        self
    }

    /// Outgoing calls awaiting an answer at once. See the field for its default.
    #[must_use]
    pub fn max_pending_calls(mut self, max_pending_calls: usize) -> Self {
        self.max_pending_calls = max_pending_calls;
        self
    }

    /// How long an outgoing call waits for its answer. See the field for its default.
    #[must_use]
    pub fn call_timeout(mut self, call_timeout: Duration) -> Self {
        self.call_timeout = call_timeout;
        self
    }

    /// Silence before a ping; `None` never pings. See the field for its default.
    #[must_use]
    pub fn ping_interval(mut self, ping_interval: Option<Duration>) -> Self {
        self.ping_interval = ping_interval;
        self
    }

    /// Silence before the connection is closed; `None` never closes. See the field for its default.
    #[must_use]
    pub fn idle_timeout(mut self, idle_timeout: Option<Duration>) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// How long a write may make no progress. See the field for its default.
    #[must_use]
    pub fn write_timeout(mut self, write_timeout: Duration) -> Self {
        self.write_timeout = write_timeout;
        self
    }

    /// Bytes all served subscriptions may hold buffered together. See the
    /// field for its default.
    #[must_use]
    pub fn subscription_bytes(mut self, subscription_bytes: usize) -> Self {
        self.subscription_bytes = subscription_bytes;
        self
    }

    /// Events buffered per received subscription. See the field for its default.
    #[must_use]
    pub fn subscription_buffer(mut self, subscription_buffer: usize) -> Self {
        self.subscription_buffer = subscription_buffer;
        self
    }

    /// Layers around the calls this end sends. See the field for its default.
    #[must_use]
    pub fn outgoing(mut self, outgoing: OutgoingLayers) -> Self {
        self.outgoing = outgoing;
        self
    }
}
