//! Two chat processes on one Redis, as the README's cluster section says:
//! who is in a room is the same on both, a name is taken once per room
//! across them, message ids are unique across them, and when one is
//! killed its people leave within the presence time to live and the
//! other node's clients are told.

#[path = "../examples/chat/api.rs"]
mod chat_api;
#[path = "common/process.rs"]
mod process;
#[path = "common/redis.rs"]
mod redis;

use std::time::{Duration, Instant};

use chat_api::{ChatClient, ChatError, RoomEvent};
use process::Running;
use redis::RedisServer;
use wirecall::client::Client;
use wirecall::{Subscription, SubscriptionEvent};

/// The next room event and the offset it sits at.
async fn next_event(events: &mut Subscription<RoomEvent>) -> (RoomEvent, u64) {
    match tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("an event in time")
    {
        Some(SubscriptionEvent::Item(event)) => (event, events.position().unwrap().offset),
        other => panic!("expected a room event, got {other:?}"),
    }
}

async fn wait_for(events: &mut Subscription<RoomEvent>, wanted: &RoomEvent) -> u64 {
    loop {
        let (event, offset) = next_event(events).await;
        if &event == wanted {
            return offset;
        }
    }
}

async fn node(redis: &RedisServer) -> (Running, String) {
    let mut node = Running::start(
        "chat",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis",
            &redis.url(),
            "--presence-ttl",
            "1",
        ],
    );
    let url = format!("ws://{}/rpc", node.listening_addr().await);
    (node, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_nodes_share_members_names_and_ids_and_tell_a_dead_nodes_leaves() {
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let (mut node_a, url_a) = node(&redis).await;
    let (node_b, url_b) = node(&redis).await;

    let ada_client = Client::connect(&url_a).await.unwrap();
    let ada = ChatClient::new(&ada_client);
    let bob_client = Client::connect(&url_b).await.unwrap();
    let bob = ChatClient::new(&bob_client);
    let mut bob_events = bob.events("lobby".into()).await.unwrap();

    assert_eq!(
        ada.join("lobby".into(), "ada".into(), None).await.unwrap(),
        ["ada"]
    );
    // Node B's join answers who is in the room on every node.
    assert_eq!(
        bob.join("lobby".into(), "bob".into(), None).await.unwrap(),
        ["ada", "bob"]
    );
    assert_eq!(ada.users("lobby".into()).await.unwrap(), ["ada", "bob"]);
    let ada_joined = RoomEvent::Joined { name: "ada".into() };
    wait_for(&mut bob_events, &ada_joined).await;

    // A name is taken once per room, across nodes.
    let carol_client = Client::connect(&url_b).await.unwrap();
    let carol = ChatClient::new(&carol_client);
    let taken = carol
        .join("lobby".into(), "ada".into(), None)
        .await
        .unwrap_err();
    assert_eq!(
        taken.as_app(),
        Some(&ChatError::NameTaken { name: "ada".into() })
    );

    // Message ids are the room's positions: unique across nodes.
    let from_a = ada.send("lobby".into(), "one".into()).await.unwrap();
    let from_b = bob.send("lobby".into(), "two".into()).await.unwrap();
    assert_ne!(from_a, from_b);
    let said = RoomEvent::Message {
        from: "ada".into(),
        text: "one".into(),
    };
    assert_eq!(wait_for(&mut bob_events, &said).await, from_a);

    // A page that moves to the other node takes its name back with its
    // key; the old connection's end, noticed later, does not take it away.
    let dora_before = Client::connect(&url_a).await.unwrap();
    ChatClient::new(&dora_before)
        .join("lobby".into(), "dora".into(), Some("page-dora".into()))
        .await
        .unwrap();
    let dora_after = Client::connect(&url_b).await.unwrap();
    ChatClient::new(&dora_after)
        .join("lobby".into(), "dora".into(), Some("page-dora".into()))
        .await
        .unwrap();
    dora_before.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let users = bob.users("lobby".into()).await.unwrap();
    assert!(users.contains(&"dora".to_owned()), "{users:?}");
    dora_after.close().await;
    let dora_left = RoomEvent::Left {
        name: "dora".into(),
    };
    wait_for(&mut bob_events, &dora_left).await;

    // The same new name on both nodes at once: exactly one gets it.
    let first_zed = Client::connect(&url_a).await.unwrap();
    let second_zed = Client::connect(&url_b).await.unwrap();
    let (zed_on_node_a, zed_on_node_b) =
        (ChatClient::new(&first_zed), ChatClient::new(&second_zed));
    let (on_a, on_b) = tokio::join!(
        zed_on_node_a.join("lobby".into(), "zed".into(), None),
        zed_on_node_b.join("lobby".into(), "zed".into(), None)
    );
    assert!(on_a.is_ok() != on_b.is_ok(), "{on_a:?} / {on_b:?}");
    let zed_on_a = on_a.is_ok();

    // Node A dies without a word: its people leave within the time to
    // live (1 s here), and node B's clients are told.
    let killed = Instant::now();
    node_a.child.kill().await.unwrap();
    let ada_left = RoomEvent::Left { name: "ada".into() };
    wait_for(&mut bob_events, &ada_left).await;
    println!(
        "ada's leave was told {:?} after her node died",
        killed.elapsed()
    );
    let mut expected = vec!["bob"];
    if !zed_on_a {
        expected.push("zed");
    }
    let mut users = bob.users("lobby".into()).await.unwrap();
    if zed_on_a && users.contains(&"zed".to_owned()) {
        // zed on node A may be swept a heartbeat after ada.
        tokio::time::sleep(Duration::from_secs(2)).await;
        users = bob.users("lobby".into()).await.unwrap();
    }
    assert_eq!(users, expected);
    // Ada's name is free again.
    carol
        .join("lobby".into(), "ada".into(), None)
        .await
        .unwrap();
    drop(node_b);
}
