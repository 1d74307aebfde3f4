//! The commands: connect, send, print.

use std::io::{IsTerminal, Read, Write};

use serde_json::{json, Value};
use wirecall::{Batch, Client, SubscriptionEvent};

use crate::args;
use crate::check;
use crate::connect::{self, Options};
use crate::document;
use crate::failure::{describe, Failure};

/// One line to stdout. A reader that went away (`| head`) is not an error
/// worth a panic: the output it wanted has been written.
pub(crate) fn print_line(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// Pretty on a terminal, compact when piped.
fn print_json(value: &Value) {
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    print_line(&text.expect("a JSON value prints"));
}

/// How a command sends its method, to be matched with the document's
/// word for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sending {
    Call,
    Notification,
    Subscription,
}

/// The server's document, or `None` with a notice when it cannot be had.
/// A document is a help, not a gate.
async fn document_of(client: &Client, options: &Options) -> Option<wirecall::openrpc::Document> {
    if !options.discover {
        return None;
    }
    match document::fetch(client).await {
        Ok(found) => found,
        Err(failure) => {
            notice(&format!(
                "no document ({}); sending the arguments unchecked",
                failure.reason()
            ));
            None
        }
    }
}

/// The params to send for `method`: checked and converted by `found` when
/// it lists the method. A method it leaves out (a router may serve methods
/// it does not describe) is sent as given, after a notice; so are the
/// spec's own `rpc.` methods.
pub(crate) fn params_for(
    found: Option<&wirecall::openrpc::Document>,
    method: &str,
    sending: Sending,
    args: &[String],
) -> Result<Value, Failure> {
    let as_given = || {
        args::parse(args)
            .map(args::Args::into_params)
            .map_err(Failure::Usage)
    };
    let Some(found) = found.filter(|_| !method.starts_with("rpc.")) else {
        return as_given();
    };
    // The method first, so a mistyped one is named before its arguments are read.
    let described = match document::method(found, method) {
        Ok(described) => described,
        Err(unlisted) => {
            notice(&format!("{}; sending it unchecked", unlisted.reason()));
            return as_given();
        }
    };
    let takes_text = |position: usize| {
        described
            .params
            .get(position)
            .is_some_and(|param| crate::check::json_types(found, &param.schema).contains(&"string"))
    };
    let args = args::parse_with(args, takes_text).map_err(Failure::Usage)?;
    let is = match (&described.subscription, &described.result) {
        (Some(_), _) => Sending::Subscription,
        (None, Some(_)) => Sending::Call,
        (None, None) => Sending::Notification,
    };
    // Notifying a method that answers is allowed: the answer is not asked for.
    if is != sending && !(sending == Sending::Notification && is == Sending::Call) {
        let (what, use_instead) = match is {
            Sending::Call => ("a method that answers", "call"),
            Sending::Notification => ("a notification, which answers nothing", "notify"),
            Sending::Subscription => ("a subscription", "subscribe"),
        };
        return Err(Failure::Usage(format!(
            "`{method}` is {what}: use `wirecall {use_instead}`"
        )));
    }
    check::params(found, described, args)
}

/// A line on stderr that does not stop the command.
fn notice(text: &str) {
    eprintln!("wirecall: {text}");
}

pub(crate) async fn call(
    options: &Options,
    url: &str,
    method: &str,
    args: &[String],
    raw: bool,
) -> Result<(), Failure> {
    if raw {
        return crate::raw::call(options, url, method, args).await;
    }
    let client = connect::client(options, url).await?;
    let found = document_of(&client, options).await;
    let result = match params_for(found.as_ref(), method, Sending::Call, args) {
        Ok(params) => {
            client
                .call_raw(method, raw_params(&params).as_deref())
                .await
        }
        Err(failure) => {
            client.close().await;
            return Err(failure);
        }
    };
    client.close().await;
    let result = result?;
    let value: Value = serde_json::from_str(result.get())
        .map_err(|err| Failure::Other(format!("the result is not JSON: {err}")))?;
    print_json(&value);
    Ok(())
}

/// `call URL METHOD --help`: the method's params, from the document.
pub(crate) async fn method_help(options: &Options, url: &str, method: &str) -> Result<(), Failure> {
    let client = connect::client(options, url).await?;
    let found = document::fetch(&client).await;
    client.close().await;
    let Some(found) = found? else {
        return Err(Failure::Other(format!(
            "{url} has no rpc.discover, so there is no help for `{method}`"
        )));
    };
    print_line(&document::method_help(
        &found,
        document::method(&found, method)?,
    ));
    Ok(())
}

/// `discover`: the server's methods, or its whole document with `--json`.
pub(crate) async fn discover(options: &Options, url: &str, json: bool) -> Result<(), Failure> {
    let client = connect::client(options, url).await?;
    let answer = client.call_raw("rpc.discover", None).await;
    client.close().await;
    let answer = answer.map_err(|err| match err {
        wirecall::CallError::Rpc(error) if error.code == wirecall::ErrorCode::MethodNotFound => {
            Failure::AnsweredWithErrors(format!(
                "{url} serves no OpenRPC document (rpc.discover: {})",
                describe(&error)
            ))
        }
        other => other.into(),
    })?;
    if json {
        let value: Value = serde_json::from_str(answer.get())
            .map_err(|err| Failure::Other(format!("the document is not JSON: {err}")))?;
        print_json(&value);
        return Ok(());
    }
    let found = serde_json::from_str(answer.get()).map_err(|err| {
        Failure::Other(format!(
            "the rpc.discover answer is not an OpenRPC document ({err}); --json prints its JSON"
        ))
    })?;
    print_line(&document::listing(&found));
    Ok(())
}

pub(crate) async fn notify(
    options: &Options,
    url: &str,
    method: &str,
    args: &[String],
) -> Result<(), Failure> {
    let client = connect::client(options, url).await?;
    let found = document_of(&client, options).await;
    let sent = match params_for(found.as_ref(), method, Sending::Notification, args) {
        Ok(params) => client.notify(method, &params).await.map_err(Failure::from),
        Err(failure) => Err(failure),
    };
    // Closing flushes the notification before the socket goes.
    client.close().await;
    sent
}

/// The params as raw JSON; `None` for no params.
fn raw_params(params: &Value) -> Option<Box<serde_json::value::RawValue>> {
    (!params.is_null()).then(|| serde_json::value::to_raw_value(params).expect("JSON encodes"))
}

/// One entry of a batch file.
struct Entry {
    method: String,
    params: Value,
    /// The id the file gave, for calls.
    id: Option<Value>,
}

impl Entry {
    /// The entry as a request object, for `--raw`.
    fn request(&self) -> Value {
        let mut request = json!({"jsonrpc": "2.0", "method": self.method});
        if !self.params.is_null() {
            request["params"] = self.params.clone();
        }
        if let Some(id) = &self.id {
            request["id"] = id.clone();
        }
        request
    }
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

pub(crate) async fn batch(
    options: &Options,
    url: &str,
    file: &str,
    raw: bool,
) -> Result<(), Failure> {
    let entries = read_batch(file)?;
    if raw {
        let frame: Vec<Value> = entries.iter().map(Entry::request).collect();
        return crate::raw::batch(options, url, &Value::Array(frame)).await;
    }
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
    let client = connect::client(options, url).await?;
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
    unsubscribe: Option<String>,
) -> Result<(), Failure> {
    let client = connect::client(options, url).await?;
    let subscribed = async {
        let found = document_of(&client, options).await;
        let params = params_for(found.as_ref(), method, Sending::Subscription, args)?;
        // The document names the method that ends it; else it is guessed.
        let described = found
            .as_ref()
            .and_then(|d| d.method(method))
            .and_then(|m| m.subscription.as_ref())
            .map(|sub| sub.unsubscribe.clone());
        let unsubscribe = unsubscribe
            .or(described)
            .or_else(|| unsubscribe_name(method))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "cannot guess how to end `{method}`: pass --unsubscribe METHOD"
                ))
            })?;
        Ok::<_, Failure>(
            client
                .subscribe::<Value>(method, &params, &unsubscribe)
                .await?,
        )
    };
    let mut stream = match subscribed.await {
        Ok(stream) => stream,
        Err(failure) => {
            client.close().await;
            return Err(failure);
        }
    };
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
