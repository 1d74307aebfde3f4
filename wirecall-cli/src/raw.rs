//! `--raw`: the request goes out as one frame and the answer is printed
//! exactly as the server sent it, byte for byte.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use wirecall::client::tungstenite::tungstenite::Message;

use crate::connect::{self, Options};
use crate::failure::Failure;

/// Sends `request` (a call or a batch) and prints the frame that answers it.
/// A request of notifications alone has no answer: nothing is printed.
pub(crate) async fn exchange(options: &Options, url: &str, request: &Value) -> Result<(), Failure> {
    let mut socket = connect::socket(options, url).await?;
    socket
        .send(Message::text(request.to_string()))
        .await
        .map_err(|err| Failure::Connection(format!("cannot send to {url}: {err}")))?;
    if !expects_answer(request) {
        let _ = socket.close(None).await;
        return Ok(());
    }
    let answer = tokio::time::timeout(options.timeout, answer_to(&mut socket, request))
        .await
        .map_err(|_| Failure::Timeout(format!("no answer within {:?}", options.timeout)))??;
    let _ = socket.close(None).await;
    crate::commands::print_line(&answer);
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
async fn answer_to(
    socket: &mut wirecall::client::WebSocket,
    request: &Value,
) -> Result<String, Failure> {
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

/// The request object of one call.
pub(crate) fn call(method: &str, params: Value) -> Value {
    let mut request = json!({"jsonrpc": "2.0", "method": method, "id": 1});
    if !params.is_null() {
        request["params"] = params;
    }
    request
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
