//! Every runnable example, started as its own process and exercised over
//! 127.0.0.1 so the examples cannot rot.

#[path = "../examples/chat/api.rs"]
mod chat_api;
#[path = "common/process.rs"]
mod process;
#[path = "common/cases.rs"]
mod table;

use std::time::Duration;

use chat_api::{ChatClient, ChatError, RoomEvent};
use process::{http_get, Running};
use wirecall::client::Client;
use wirecall::{Subscription, SubscriptionEvent};

/// The next room event, skipping presence of others when `only_messages`.
async fn next_event(events: &mut Subscription<RoomEvent>) -> RoomEvent {
    match tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("an event in time")
    {
        Some(SubscriptionEvent::Item(event)) => event,
        other => panic!("expected a room event, got {other:?}"),
    }
}

async fn wait_for(events: &mut Subscription<RoomEvent>, wanted: &RoomEvent) {
    loop {
        if &next_event(events).await == wanted {
            return;
        }
    }
}

#[tokio::test]
async fn chat_serves_its_page_and_rooms_and_the_bot_answers() {
    let mut chat = Running::start("chat", &["--listen", "127.0.0.1:0"]);
    let addr = chat.listening_addr().await;

    let page = http_get(&addr, "/").await;
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("wirecall chat"),
        "{page}"
    );
    let script = http_get(&addr, "/app.js").await;
    // The page's script is the generated, typed client bundled with its UI.
    let typed = script.contains("ChatClient") && script.contains("rpc.resume");
    assert!(script.starts_with("HTTP/1.1 200") && typed, "{script}");

    let url = format!("ws://{addr}/rpc");
    let ada_client = Client::connect(&url).await.unwrap();
    let ada = ChatClient::new(&ada_client);
    let mut ada_events = ada.events("lobby".into()).await.unwrap();
    assert_eq!(
        ada.join("lobby".into(), "ada".into(), None).await.unwrap(),
        ["ada"]
    );
    wait_for(&mut ada_events, &RoomEvent::Joined { name: "ada".into() }).await;

    let bob_client = Client::connect(&url).await.unwrap();
    let bob = ChatClient::new(&bob_client);
    let early = bob.send("lobby".into(), "hi".into()).await.unwrap_err();
    // The chat's errors come back typed through its generated client.
    assert_eq!(early.as_app(), Some(&ChatError::NotJoined));
    let taken = bob
        .join("lobby".into(), "ada".into(), None)
        .await
        .unwrap_err();
    assert_eq!(
        taken.as_app(),
        Some(&ChatError::NameTaken { name: "ada".into() })
    );
    assert_eq!(
        bob.join("lobby".into(), "bob".into(), None).await.unwrap(),
        ["ada", "bob"]
    );
    let said = bob.send("lobby".into(), "hello ada".into()).await.unwrap();
    wait_for(
        &mut ada_events,
        &RoomEvent::Message {
            from: "bob".into(),
            text: "hello ada".into(),
        },
    )
    .await;
    // The message id is its position in the room.
    assert_eq!(ada_events.position().unwrap().offset, said);

    let bot = Running::start(
        "chat_bot",
        &[
            "--url",
            &url,
            "--room",
            "lobby",
            "--name",
            "bot",
            "--exit-after",
            "2",
        ],
    );
    wait_for(&mut ada_events, &RoomEvent::Joined { name: "bot".into() }).await;
    ada.send("lobby".into(), "ping".into()).await.unwrap();
    wait_for(
        &mut ada_events,
        &RoomEvent::Message {
            from: "bot".into(),
            text: "pong".into(),
        },
    )
    .await;
    let (status, output) = bot.finish().await;
    assert!(status.success(), "chat_bot failed: {output}");
    assert!(output.contains("<ada> ping"), "{output}");
    wait_for(&mut ada_events, &RoomEvent::Left { name: "bot".into() }).await;

    drop(bob_client);
    wait_for(&mut ada_events, &RoomEvent::Left { name: "bob".into() }).await;
    assert_eq!(ada.users("lobby".into()).await.unwrap(), ["ada"]);

    let metrics = http_get(&addr, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    let line = |name: &str, labels: &[&str]| {
        metrics
            .lines()
            .find(|line| line.starts_with(name) && labels.iter().all(|l| line.contains(l)))
            .unwrap_or_else(|| panic!("no {name} with {labels:?} in\n{metrics}"))
            .to_owned()
    };
    let joins = line(
        "wirecall_calls_total{",
        &[r#"method="chat_join""#, r#"outcome="ok""#],
    );
    // ada, bob and the bot joined.
    assert!(joins.ends_with(" 3"), "{joins}");
    line(
        "wirecall_call_errors_total{",
        &[r#"method="chat_join""#, r#"code="1002""#],
    );
    line(
        "wirecall_call_duration_seconds_bucket{",
        &[r#"method="chat_send""#],
    );
    line("wirecall_connections_accepted_total", &[]);
    chat.child.kill().await.unwrap();
}

#[tokio::test]
async fn spec_server_passes_the_conformance_table_from_outside() {
    let mut server = Running::start("spec_server", &["--listen", "127.0.0.1:0"]);
    let addr = server.listening_addr().await;
    let url = format!("ws://{addr}/");
    table::run_over_socket(&url).await;

    let client = Client::connect(&url).await.unwrap();
    let mut counter = client
        .subscribe::<u64>("subscribe_counter", [5], "unsubscribe_counter")
        .await
        .unwrap();
    for expected in 0..5 {
        assert!(matches!(counter.next().await, Some(SubscriptionEvent::Item(n)) if n == expected));
    }
    assert!(matches!(
        counter.next().await,
        Some(SubscriptionEvent::Ended)
    ));
    server.child.kill().await.unwrap();
    // The table's deliberate panic went to the server's stderr, not ours.
    let stderr = server.stderr.lock().unwrap().clone();
    assert!(stderr.contains("a deliberate panic"), "{stderr}");
}

#[tokio::test]
async fn push_bus_delivers_each_change_once() {
    let (status, output) = Running::start("push_bus", &["--clients", "8"])
        .finish()
        .await;
    assert!(status.success(), "{output}");
    assert!(
        output.contains("published 3 changes to 8 watchers"),
        "{output}"
    );
    assert!(output.contains("exactly once"), "{output}");
}

#[tokio::test]
async fn bidirectional_calls_cross_one_socket() {
    let (status, output) = Running::start("bidirectional", &[]).finish().await;
    assert!(status.success(), "{output}");
    assert!(output.contains("bought book for 20"), "{output}");
    assert!(
        output.contains("refused: the wallet declined bike"),
        "{output}"
    );
}
