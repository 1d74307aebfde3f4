//! `--raw`: the request goes out as one frame and the answer is printed
//! exactly as the server sent it, byte for byte.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use wirecall::client::tungstenite::tungstenite::Message;

use crate::connect::{self, Options};
use crate::failure::Failure;

/// Sends `request` (a call or a batch) and prints the frame that answers it.
pub(crate) async fn exchange(options: &Options, url: &str, request: &Value) -> Result<(), Failure> {
    let mut socket = connect::socket(options, url).await?;
    socket
        .send(Message::text(request.to_string()))
        .await
        .map_err(|err| Failure::Connection(format!("cannot send to {url}: {err}")))?;
    let answer = tokio::time::timeout(options.timeout, answer_to(&mut socket, request))
        .await
        .map_err(|_| Failure::Timeout(format!("no answer within {:?}", options.timeout)))??;
    let _ = socket.close(None).await;
    crate::commands::print_line(&answer);
    let answered: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
    let failed = match &answered {
        Value::Array(answers) => answers.iter().any(|a| a.get("error").is_some()),
        one => one.get("error").is_some(),
    };
    if failed {
        return Err(Failure::AnsweredWithErrors(
            "the server answered with an error (printed above)".into(),
        ));
    }
    Ok(())
}

/// The text of the first frame that answers `request`: a response with its
/// id, or for a batch any array. Notifications and other frames before it
/// are skipped.
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
        let answers = match (&parsed, id) {
            (Value::Array(_), None) => true,
            (Value::Object(fields), Some(id)) => {
                fields.get("id") == Some(id) || fields.get("id") == Some(&Value::Null)
            }
            _ => false,
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
