//! The sink's buffer under each overflow policy, without a socket: the
//! subscribe reply is never released, so nothing leaves the buffer unless
//! a test takes it.

use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{SendError, SinkShared, SubscriptionSink};
use crate::protocol::{ErrorCode, Position, Resume};
use crate::session::serve::forwarder::Next;
use crate::session::serve::{accept, OverflowPolicy, PendingRaw, SinkConfig};
use crate::session::{ConnectionConfig, Session};

/// An accepted sink of `buffer` items under `policy`, and its shared state.
fn sink(buffer: usize, policy: OverflowPolicy) -> (SubscriptionSink<u64>, Arc<SinkShared>) {
    sink_resuming(buffer, policy, None)
}

fn sink_resuming(
    buffer: usize,
    policy: OverflowPolicy,
    resume_from: Option<Position>,
) -> (SubscriptionSink<u64>, Arc<SinkShared>) {
    let (session, _queue) = Session::new(Arc::new(ConnectionConfig::default()));
    let (responder, _accepted) = oneshot::channel();
    let raw = PendingRaw {
        responder,
        session: session.clone(),
        notification: "n".into(),
        config: SinkConfig { buffer, policy },
        token: CancellationToken::new(),
        resume_from,
    };
    let shared = accept(raw).unwrap();
    (SubscriptionSink::from_shared(shared.clone()), shared)
}

/// What the forwarder would send next, as text.
fn take(shared: &SinkShared) -> String {
    match shared.next() {
        Next::Frame(frame) => frame,
        Next::Last(Some(frame)) => format!("last {frame}"),
        Next::Last(None) => "silenced".into(),
        Next::Wait => "nothing".into(),
    }
}

fn item(n: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"n","params":{{"subscription":"1","result":{n}}}}}"#)
}

#[tokio::test]
async fn drop_oldest_keeps_the_newest_and_counts_the_rest() {
    let (sink, shared) = sink(2, OverflowPolicy::DropOldest);
    for n in 0..5 {
        sink.send(&n).await.unwrap();
    }
    assert_eq!(sink.buffered(), 2);
    assert_eq!(
        take(&shared),
        r#"{"jsonrpc":"2.0","method":"n","params":{"subscription":"1","lagged":3}}"#
    );
    assert_eq!(take(&shared), item(3));
    assert_eq!(take(&shared), item(4));
    assert_eq!(take(&shared), "nothing");
}

#[tokio::test]
async fn close_ends_the_subscription_with_slow_subscriber() {
    let (sink, shared) = sink(2, OverflowPolicy::Close);
    sink.send(&0).await.unwrap();
    sink.send(&1).await.unwrap();
    assert!(matches!(sink.send(&2).await, Err(SendError::Closed)));
    let last = take(&shared);
    assert!(last.starts_with("last "), "{last}");
    assert!(
        last.contains(&format!(r#""code":{}"#, ErrorCode::SLOW_SUBSCRIBER.code())),
        "{last}"
    );
}

#[tokio::test]
async fn wait_holds_the_producer_until_there_is_room() {
    let (sink, shared) = sink(1, OverflowPolicy::Wait);
    sink.send(&0).await.unwrap();
    let mut second = Box::pin(sink.send(&1));
    assert!(
        second.as_mut().now_or_never().is_none(),
        "sent past a full buffer"
    );
    assert_eq!(take(&shared), item(0));
    second.await.unwrap();
    assert_eq!(take(&shared), item(1));
}

#[tokio::test]
async fn a_dropped_sink_ends_after_its_items() {
    let (sink, shared) = sink(4, OverflowPolicy::Wait);
    sink.send(&7).await.unwrap();
    drop(sink);
    assert_eq!(take(&shared), item(7));
    let last = take(&shared);
    // A normal end is its own notice, not an error.
    assert!(last.contains(r#""ended":true"#), "{last}");
    assert!(!last.contains(r#""error""#), "{last}");
}

#[tokio::test]
async fn a_lag_reported_upstream_arrives_in_order() {
    let (sink, shared) = sink(4, OverflowPolicy::Wait);
    sink.send(&1).await.unwrap();
    sink.report_lagged(5);
    sink.send(&2).await.unwrap();
    assert_eq!(take(&shared), item(1));
    assert!(take(&shared).contains(r#""lagged":5"#));
    assert_eq!(take(&shared), item(2));
}

#[tokio::test]
async fn a_resume_the_handler_never_answers_is_told_as_a_reset_first() {
    let since = Position {
        epoch: "e".into(),
        offset: 4,
    };
    let (sink, shared) = sink_resuming(1, OverflowPolicy::DropOldest, Some(since.clone()));
    assert_eq!(
        take(&shared),
        "nothing",
        "nothing is owed before there is news"
    );
    sink.send(&1).await.unwrap();
    sink.send(&2).await.unwrap();
    assert!(take(&shared).contains(r#""resumed":{"reset":true}"#));
    assert_eq!(
        take(&shared),
        r#"{"jsonrpc":"2.0","method":"n","params":{"subscription":"1","lagged":1}}"#
    );
    assert_eq!(take(&shared), item(2));

    // A handler that says how it resumes is taken at its word.
    let (sink, shared) = sink_resuming(4, OverflowPolicy::DropOldest, Some(since));
    sink.report_resumed(Resume::Gap(3));
    sink.send(&5).await.unwrap();
    assert!(take(&shared).contains(r#""resumed":{"missed":3}"#));
    assert_eq!(take(&shared), item(5));
}

/// An accepted sink whose connection queue holds `capacity` frames (and is
/// returned, so it stays open), its shared state, and the queue.
fn on_a_queue_of(
    capacity: usize,
) -> (
    SubscriptionSink<u64>,
    Arc<SinkShared>,
    crate::session::OutboundReceiver,
) {
    let config = ConnectionConfig {
        outbound_capacity: capacity,
        ..ConnectionConfig::default()
    };
    let (session, queue) = Session::new(Arc::new(config));
    let (responder, _accepted) = oneshot::channel();
    let raw = PendingRaw {
        responder,
        session,
        notification: "n".into(),
        config: SinkConfig::default(),
        token: CancellationToken::new(),
        resume_from: None,
    };
    let shared = accept(raw).unwrap();
    (SubscriptionSink::from_shared(shared.clone()), shared, queue)
}

/// The text of the next frame on the connection's queue, if any.
fn queued(queue: &mut crate::session::OutboundReceiver) -> String {
    match queue.try_recv() {
        Some(crate::session::Outbound::Text(text)) => text,
        None => "empty".to_owned(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn an_item_with_nothing_ahead_skips_the_buffer_and_never_overtakes() {
    let (sink, shared, mut queue) = on_a_queue_of(2);
    // Before the subscribe reply is queued, items wait in the buffer.
    sink.send(&0).await.unwrap();
    assert_eq!(sink.buffered(), 1);
    assert_eq!(take(&shared), item(0));
    // What the forwarder does once it has queued a frame.
    shared.state.lock().unwrap().forwarder = super::Forwarder::Idle;
    sink.send(&1).await.unwrap();
    sink.send(&2).await.unwrap();
    assert_eq!(sink.buffered(), 0, "both went straight to the queue");
    sink.send(&3).await.unwrap();
    assert_eq!(sink.buffered(), 1, "the queue was full");
    assert_eq!(queued(&mut queue), item(1));
    assert_eq!(queued(&mut queue), item(2));
    // The queue has room again, but 3 is ahead: 4 goes behind it.
    sink.send(&4).await.unwrap();
    assert_eq!(sink.buffered(), 2);
    assert_eq!(take(&shared), item(3));
    // The forwarder holds 3 and has not queued it: 5 must not overtake.
    assert_eq!(take(&shared), item(4));
    sink.send(&5).await.unwrap();
    assert_eq!(sink.buffered(), 1);
    assert_eq!(queued(&mut queue), "empty");
}

#[tokio::test]
async fn an_item_never_overtakes_a_lag_notice_the_forwarder_holds() {
    let (sink, shared, mut queue) = on_a_queue_of(256);
    shared.state.lock().unwrap().forwarder = super::Forwarder::Idle;
    sink.report_lagged(3);
    let notice = take(&shared);
    assert!(notice.contains(r#""lagged":3"#), "{notice}");
    // The forwarder holds the notice and has not queued it yet.
    sink.send(&10).await.unwrap();
    assert_eq!(sink.buffered(), 1, "the item waits behind the notice");
    assert_eq!(queued(&mut queue), "empty");
}
