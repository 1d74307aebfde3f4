//! The commands: connect, send, print.

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use serde_json::{json, Value};
use wirecall::{Batch, Client, SubscriptionEvent};

use crate::args;
use crate::failure::{connect_failure, describe, Failure};

/// What every command shares.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) headers: Vec<String>,
    pub(crate) timeout: Duration,
}

async fn connect(options: &Options, url: &str) -> Result<Client, Failure> {
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(Failure::Usage(format!(
            "bad URL `{url}`: use ws://HOST:PORT/PATH or wss://…"
        )));
    }
    let mut builder = Client::builder()
        .connect_timeout(options.timeout)
        .call_timeout(options.timeout);
    for header in &options.headers {
        let Some((name, value)) = header.split_once(':') else {
            return Err(Failure::Usage(format!(
                "bad header `{header}`: write it as Name: value"
            )));
        };
        builder = builder.header(name.trim(), value.trim());
    }
    builder
        .connect(url)
        .await
        .map_err(|err| connect_failure(url, err))
}

/// Pretty on a terminal, compact when piped.
fn print_json(value: &Value) {
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    println!("{}", text.expect("a JSON value prints"));
}

pub(crate) async fn call(
    options: &Options,
    url: &str,
    method: &str,
    args: &[String],
) -> Result<(), Failure> {
    let params = args::params(args).map_err(Failure::Usage)?;
    let client = connect(options, url).await?;
    let params = raw(&params);
    let result = client.call_raw(method, params.as_deref()).await;
    client.close().await;
    let result = result?;
    let value: Value = serde_json::from_str(result.get())
        .map_err(|err| Failure::Other(format!("the result is not JSON: {err}")))?;
    print_json(&value);
    Ok(())
}

pub(crate) async fn notify(
    options: &Options,
    url: &str,
    method: &str,
    args: &[String],
) -> Result<(), Failure> {
    let params = args::params(args).map_err(Failure::Usage)?;
    let client = connect(options, url).await?;
    let sent = client.notify(method, &params).await;
    // Closing flushes the notification before the socket goes.
    client.close().await;
    Ok(sent?)
}

/// The params as raw JSON; `None` for no params.
fn raw(params: &Value) -> Option<Box<serde_json::value::RawValue>> {
    (!params.is_null()).then(|| serde_json::value::to_raw_value(params).expect("JSON encodes"))
}

/// One entry of a batch file.
struct Entry {
    method: String,
    params: Value,
    /// The id the file gave, for calls.
    id: Option<Value>,
}

fn read_batch(file: &str) -> Result<Vec<Entry>, Failure> {
    let mut text = String::new();
    let read = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|read| text = read)
    };
    read.map_err(|err| Failure::Other(format!("cannot read {file}: {err}")))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|err| Failure::Usage(format!("{file} is not JSON: {err}")))?;
    let items = match value {
        Value::Array(items) if !items.is_empty() => items,
        Value::Array(_) => return Err(Failure::Usage(format!("{file} holds an empty batch"))),
        one @ Value::Object(_) => vec![one],
        _ => {
            return Err(Failure::Usage(format!(
                "{file} must hold an array of {{\"method\", \"params\", \"id\"}} objects"
            )))
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let entry = |why: &str| Failure::Usage(format!("{file}, entry {}: {why}", index + 1));
            let Value::Object(mut fields) = item else {
                return Err(entry("not an object"));
            };
            let Some(Value::String(method)) = fields.remove("method") else {
                return Err(entry("no \"method\" string"));
            };
            let params = fields.remove("params").unwrap_or(Value::Null);
            if !matches!(params, Value::Null | Value::Array(_) | Value::Object(_)) {
                return Err(entry("\"params\" must be an array or an object"));
            }
            Ok(Entry {
                method,
                params,
                id: fields.remove("id"),
            })
        })
        .collect()
}

pub(crate) async fn batch(options: &Options, url: &str, file: &str) -> Result<(), Failure> {
    let entries = read_batch(file)?;
    let mut batch = Batch::new();
    let mut slots = Vec::new();
    for entry in &entries {
        match &entry.id {
            Some(id) => slots.push((
                id.clone(),
                batch.call::<Value>(&entry.method, &entry.params)?,
            )),
            None => batch.notify(&entry.method, &entry.params)?,
        }
    }
    let client = connect(options, url).await?;
    let answered = client.batch(batch).await;
    client.close().await;
    let mut answers = answered?;
    let mut printed = Vec::new();
    let mut failed = false;
    for (id, slot) in slots {
        printed.push(match answers.take(&slot) {
            Ok(result) => json!({"id": id, "result": result}),
            Err(wirecall::CallError::Rpc(error)) => {
                failed = true;
                json!({"id": id, "error": error})
            }
            Err(other) => return Err(other.into()),
        });
    }
    print_json(&Value::Array(printed));
    if failed {
        return Err(Failure::AnsweredWithErrors(
            "some calls of the batch were answered with errors (printed above)".into(),
        ));
    }
    Ok(())
}

/// `subscribe_x` → `unsubscribe_x`, `eth_subscribe` → `eth_unsubscribe`,
/// `fooSubscribe` → `fooUnsubscribe`.
pub(crate) fn unsubscribe_name(method: &str) -> Option<String> {
    if let Some(at) = method.find("subscribe") {
        return Some(format!("{}unsubscribe{}", &method[..at], &method[at + 9..]));
    }
    method
        .find("Subscribe")
        .map(|at| format!("{}Unsubscribe{}", &method[..at], &method[at + 9..]))
}

pub(crate) async fn subscribe(
    options: &Options,
    url: &str,
    method: &str,
    args: &[String],
    count: Option<u64>,
    unsubscribe: &str,
) -> Result<(), Failure> {
    let params = args::params(args).map_err(Failure::Usage)?;
    let client = connect(options, url).await?;
    let mut stream = client
        .subscribe::<Value>(method, &params, unsubscribe)
        .await?;
    let mut seen = 0;
    let mut stdout = std::io::stdout().lock();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let ended = loop {
        if count.is_some_and(|count| seen >= count) {
            break None;
        }
        let event = tokio::select! {
            event = stream.next() => event,
            _ = &mut interrupted => break None,
        };
        match event {
            Some(SubscriptionEvent::Item(item)) => {
                seen += 1;
                // One item per line, flushed, so a pipe sees each at once.
                let _ = writeln!(stdout, "{item}").and_then(|()| stdout.flush());
            }
            Some(SubscriptionEvent::Lagged(missed)) => {
                eprintln!("wirecall: {missed} items were dropped (the reader lagged)");
            }
            Some(SubscriptionEvent::Malformed(err)) => {
                eprintln!("wirecall: an item was not JSON: {err}");
            }
            Some(SubscriptionEvent::Ended) => {
                eprintln!("wirecall: the server ended the subscription");
                break Some(Ok(()));
            }
            Some(SubscriptionEvent::Closed(error)) => {
                eprintln!("wirecall: the subscription closed");
                break Some(Err(Failure::Rpc(error)));
            }
            Some(_) => {}
            None => break Some(Err(Failure::Connection("the connection ended".into()))),
        }
    };
    let outcome = match ended {
        Some(outcome) => outcome,
        // Stopped here: tell the server, and wait for it to agree.
        None => stream.unsubscribe().await.map_err(|err| {
            let failure = Failure::from(err);
            if let Failure::Rpc(error) = &failure {
                eprintln!("wirecall: the unsubscribe failed: {}", describe(error));
            }
            failure
        }),
    };
    client.close().await;
    outcome
}
