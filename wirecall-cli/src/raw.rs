//! `--raw`: the request goes out as one frame and the answer is printed
//! exactly as the server sent it, byte for byte.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use wirecall::client::tungstenite::tungstenite::Message;
use wirecall::client::WebSocket;
use wirecall::openrpc::Document;

use crate::commands::{self, Sending};
use crate::connect::{self, Options};
use crate::failure::Failure;

/// Calls `method` and prints the frame that answers. The arguments are
/// checked and converted by the server's document as without `--raw`: only
/// what is printed differs.
pub(crate) async fn call(
    options: &Options,
    url: &str,
    method: &str,
    args: &[String],
) -> Result<(), Failure> {
    let mut socket = connect::socket(options, url).await?;
    let found = if options.discover {
        document(&mut socket, options).await?
    } else {
        None
    };
    let params = commands::params_for(found.as_ref(), method, Sending::Call, args)?;
    let mut request = json!({"jsonrpc": "2.0", "method": method, "id": 1});
    if !params.is_null() {
        request["params"] = params;
    }
    answer(socket, options, url, &request).await
}

/// Sends a batch and prints the frame that answers it; a batch of
/// notifications alone has no answer, and nothing is printed.
pub(crate) async fn batch(options: &Options, url: &str, request: &Value) -> Result<(), Failure> {
    let socket = connect::socket(options, url).await?;
    answer(socket, options, url, request).await
}

/// The server's document, asked for over the bare socket; `None` when it
/// has none or it cannot be read (with a notice, as without `--raw`).
async fn document(socket: &mut WebSocket, options: &Options) -> Result<Option<Document>, Failure> {
    let ask = json!({"jsonrpc": "2.0", "method": "rpc.discover", "id": "discover"});
    send(socket, &ask).await?;
    let text = tokio::time::timeout(options.timeout, answer_to(socket, &ask))
        .await
        .map_err(|_| Failure::Timeout(format!("no answer within {:?}", options.timeout)))??;
    let answered: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let Some(result) = answered.get("result") else {
        return Ok(None);
    };
    match serde_json::from_value(result.clone()) {
        Ok(document) => Ok(Some(document)),
        Err(err) => {
            eprintln!("wirecall: the rpc.discover answer is not an OpenRPC document ({err}); sending the arguments unchecked");
            Ok(None)
        }
    }
}

async fn send(socket: &mut WebSocket, request: &Value) -> Result<(), Failure> {
    socket
        .send(Message::text(request.to_string()))
        .await
        .map_err(|err| Failure::Connection(format!("cannot send: {err}")))
}

/// Sends `request` and prints the frame that answers it.
async fn answer(
    mut socket: WebSocket,
    options: &Options,
    url: &str,
    request: &Value,
) -> Result<(), Failure> {
    send(&mut socket, request).await.map_err(|err| match err {
        Failure::Connection(why) => Failure::Connection(format!("{url}: {why}")),
        other => other,
    })?;
    if !expects_answer(request) {
        let _ = socket.close(None).await;
        return Ok(());
    }
    let answer = tokio::time::timeout(options.timeout, answer_to(&mut socket, request))
        .await
        .map_err(|_| Failure::Timeout(format!("no answer within {:?}", options.timeout)))??;
    let _ = socket.close(None).await;
    commands::print_line(&answer);
    let failed = match serde_json::from_str::<Value>(&answer) {
        Ok(Value::Array(answers)) => answers.iter().any(|a| a.get("error").is_some()),
        Ok(one) => one.get("error").is_some(),
        Err(_) => {
            return Err(Failure::Other(
                "the answer is not JSON (printed above)".into(),
            ))
        }
    };
    if failed {
        return Err(Failure::AnsweredWithErrors(
            "the server answered with an error (printed above)".into(),
        ));
    }
    Ok(())
}

/// Whether any entry of `request` is a call (has an id).
fn expects_answer(request: &Value) -> bool {
    match request {
        Value::Array(entries) => entries.iter().any(|entry| entry.get("id").is_some()),
        one => one.get("id").is_some(),
    }
}

/// Whether `value` is a response (not a call the server makes of us).
fn is_response(value: &Value) -> bool {
    value.get("method").is_none() && (value.get("result").is_some() || value.get("error").is_some())
}

/// The text of the first frame that answers `request`: for a call, a
/// response with its id; for a batch, an array of responses. An error
/// with a null id answers either (the server could not read the request).
/// Notifications and calls from the server before it are skipped.
async fn answer_to(socket: &mut WebSocket, request: &Value) -> Result<String, Failure> {
    let id = request.get("id");
    while let Some(frame) = socket.next().await {
        let frame =
            frame.map_err(|err| Failure::Connection(format!("the connection failed: {err}")))?;
        let Message::Text(text) = frame else { continue };
        let Ok(parsed) = serde_json::from_str::<Value>(text.as_str()) else {
            // Not JSON: still what the server said, and the only answer.
            return Ok(text.to_string());
        };
        let answers = match &parsed {
            Value::Array(items) => id.is_none() && items.iter().all(is_response),
            one => is_response(one) && (one.get("id") == id || one.get("id") == Some(&Value::Null)),
        };
        if answers {
            return Ok(text.to_string());
        }
    }
    Err(Failure::Connection(
        "the connection ended before the answer".into(),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answers_are_told_from_other_frames() {
        assert!(is_response(
            &json!({"jsonrpc": "2.0", "id": 1, "result": 2})
        ));
        assert!(is_response(
            &json!({"jsonrpc": "2.0", "id": null, "error": {}})
        ));
        // The server calling us with the same id is not our answer.
        assert!(!is_response(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        ));
        assert!(!is_response(
            &json!({"jsonrpc": "2.0", "method": "counter", "params": {}})
        ));
        assert!(expects_answer(
            &json!([{"method": "a"}, {"method": "b", "id": 1}])
        ));
        assert!(!expects_answer(&json!([{"method": "a"}])));
    }
}
