//! A typed Rust client of the chat service: it joins a room, prints what
//! happens there, and answers messages that mention it.
//!
//! Start the server (`cargo run --release -p example-chat`), then run
//! `cargo run -p example-chat --bin chat_bot -- --url ws://127.0.0.1:4000/rpc --room lobby --name bot`.
//! `--exit-after N` stops after N messages (for scripts and tests).

mod api;

use api::{ChatClient, RoomEvent};
use wirecall::client::Client;
use wirecall::SubscriptionEvent;

struct Options {
    url: String,
    room: String,
    name: String,
    exit_after: Option<usize>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        url: "ws://127.0.0.1:4000/rpc".into(),
        room: "lobby".into(),
        name: "bot".into(),
        exit_after: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => options.url = value,
            "--room" => options.room = value,
            "--name" => options.name = value,
            "--exit-after" => {
                options.exit_after = Some(value.parse().map_err(|e| format!("--exit-after: {e}"))?);
            }
            other => {
                return Err(format!(
                    "unknown flag {other}; flags: --url --room --name --exit-after"
                ))
            }
        }
    }
    Ok(options)
}

/// What the bot says back, if anything.
fn answer(me: &str, from: &str, text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    if lower.contains("ping") {
        return Some("pong".into());
    }
    lower
        .contains(&me.to_lowercase())
        .then(|| format!("hi {from}, you said: {text}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let client = Client::connect(&options.url).await?;
    let chat = ChatClient::new(&client);
    let mut events = chat.events(options.room.clone()).await?;
    let present = chat
        .join(options.room.clone(), options.name.clone(), None)
        .await?;
    println!(
        "joined #{} as {}; here: {}",
        options.room,
        options.name,
        present.join(", ")
    );
    let mut seen = 0;
    while let Some(event) = events.next().await {
        match event {
            SubscriptionEvent::Item(RoomEvent::Message { from, text, .. }) => {
                println!("<{from}> {text}");
                seen += 1;
                if from != options.name {
                    if let Some(reply) = answer(&options.name, &from, &text) {
                        chat.send(options.room.clone(), reply).await?;
                    }
                }
                if options.exit_after.is_some_and(|limit| seen >= limit) {
                    break;
                }
            }
            SubscriptionEvent::Item(RoomEvent::Joined { name }) => println!("* {name} joined"),
            SubscriptionEvent::Item(RoomEvent::Left { name }) => println!("* {name} left"),
            SubscriptionEvent::Lagged(missed) => println!("* missed {missed} events"),
            SubscriptionEvent::Ended => {
                println!("* the room closed");
                break;
            }
            SubscriptionEvent::Closed(reason) => {
                println!("* the room closed: {}", reason.message);
                break;
            }
            other => println!("* {other:?}"),
        }
    }
    client.close().await;
    Ok(())
}
