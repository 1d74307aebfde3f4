//! How one kind of subscription buffers its items, and what happens when the
//! buffer is full.

/// What a subscription's buffer does when it is full because the peer reads
/// more slowly than the server produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Drop the oldest buffered item and tell the client how many it missed
    /// (a `"lagged": n` notice before the next item). For producers that must
    /// never wait, such as market data where only the latest matters.
    DropOldest,
    /// End the subscription with an error notice saying the client was too slow.
    Close,
    /// Make [`SubscriptionSink::send`](super::SubscriptionSink::send) wait for room (backpressure to the
    /// producer): nothing is lost. The default. A subscription fed from a
    /// bus still never holds the bus up: it falls behind and catches up
    /// from the bus's history, and the client gets an exact lag notice for
    /// what history no longer holds.
    #[default]
    Wait,
}

/// Buffer size and overflow policy of one kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkConfig {
    /// Items buffered per subscription before the policy applies.
    pub buffer: usize,
    /// What happens when the buffer is full.
    pub policy: OverflowPolicy,
}

impl Default for SinkConfig {
    /// 1024 items, [`OverflowPolicy::Wait`].
    fn default() -> SinkConfig {
        SinkConfig {
            buffer: 1024,
            policy: OverflowPolicy::Wait,
        }
    }
}
