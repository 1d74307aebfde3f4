//! The limits and timers of one connection.

use std::time::Duration;

use super::OutgoingLayers;

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
/// let config = ConnectionConfig {
///     max_in_flight: 16,
///     call_timeout: Duration::from_secs(5),
///     ..ConnectionConfig::default()
/// };
/// assert_eq!(config.outbound_capacity, 256);
/// ```
#[derive(Debug, Clone)]
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
