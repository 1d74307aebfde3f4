//! The I/O task over an in-memory socket fed any sequence of frames: no
//! panic, every answer valid JSON, no request answered more often than it
//! was sent, and what it writes stays bounded.
#![no_main]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirecall::io::{Connection, WsMessage};
use wirecall::ConnectionConfig;
use wirecall_fuzz::{answer_ids, request_ids, router, MemorySocket};

#[derive(Arbitrary, Debug)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Close,
}

fuzz_target!(|frames: Vec<Frame>| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut texts = Vec::new();
    let messages: Vec<WsMessage> = frames
        .into_iter()
        .map(|frame| match frame {
            Frame::Text(text) => {
                texts.push(text.clone());
                WsMessage::text(text)
            }
            Frame::Binary(bytes) => {
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    texts.push(text.to_owned());
                }
                WsMessage::binary(bytes)
            }
            Frame::Ping(bytes) => WsMessage::Ping(bytes.into()),
            Frame::Close => WsMessage::Close(None),
        })
        .collect();
    let written = Arc::new(Mutex::new(Vec::new()));
    runtime.block_on(async {
        let socket = MemorySocket {
            incoming: Box::pin(futures_util::stream::iter(messages)),
            written: written.clone(),
        };
        let config = ConnectionConfig::default()
            .max_in_flight(4)
            .max_batch_len(16)
            .max_subscriptions(4);
        let peer = Connection::new(router()).config(config).spawn(socket);
        // The input ends, so the connection ends; a hang is a finding.
        tokio::time::timeout(Duration::from_secs(5), peer.closed())
            .await
            .expect("the connection ended after its input did");
    });
    let written = written.lock().unwrap();
    let sent = request_ids(&texts);
    for (id, answers) in answer_ids(&written) {
        let allowed = sent.get(&id).copied().unwrap_or(0);
        assert!(answers <= allowed, "id {id} answered {answers} times, sent {allowed}");
    }
});
