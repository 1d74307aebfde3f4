//! The receiving end: a client with a call and a subscription waiting reads
//! any frames the server sends (answers, notices, garbage) without panic,
//! and its subscription stream yields only well-formed events.
#![no_main]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use libfuzzer_sys::fuzz_target;
use wirecall::io::{Connection, WsMessage};
use wirecall::{Router, SubscriptionEvent};
use wirecall_fuzz::MemorySocket;

fuzz_target!(|frames: Vec<String>| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (feed, incoming) = tokio::sync::mpsc::unbounded_channel::<WsMessage>();
        let incoming = futures_util::stream::unfold(incoming, |mut incoming| async move {
            incoming.recv().await.map(|message| (message, incoming))
        });
        let written = Arc::new(Mutex::new(Vec::new()));
        let socket = MemorySocket {
            incoming: incoming.boxed(),
            written: written.clone(),
        };
        let peer = Connection::new(Router::new()).spawn(socket);
        // Call 1 subscribes; the "server" accepts it as "s1".
        let subscriber = peer.clone();
        let subscribing = tokio::spawn(async move {
            subscriber.subscribe::<u64>("count", [3], "stop_count").await
        });
        tokio::task::yield_now().await;
        let _ = feed.send(WsMessage::text(r#"{"jsonrpc":"2.0","id":1,"result":"s1"}"#));
        let Ok(Ok(mut subscription)) = subscribing.await else { return };
        // Call 2 waits while the fuzzer's frames arrive.
        let caller = peer.clone();
        let call = tokio::spawn(async move { caller.call::<u64>("echo", [7]).await });
        for frame in frames {
            let _ = feed.send(WsMessage::text(frame));
        }
        drop(feed);
        let _ = tokio::time::timeout(Duration::from_secs(5), call).await.expect("the call ended");
        let events = async {
            while let Some(event) = subscription.next().await {
                if let SubscriptionEvent::Lagged(n) = event {
                    assert!(n > 0, "a lag of nothing");
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), events)
            .await
            .expect("the stream ended with the connection");
    });
});
