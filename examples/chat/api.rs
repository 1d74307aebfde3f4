//! The chat service's interface, shared by the server (`chat.rs`) and the
//! bot (`chat_bot.rs`).

#![allow(dead_code)] // shared by two programs; each uses its own half

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wirecall::{Context, PendingSubscription, RpcError};

/// What happens in a room, pushed to everyone subscribed to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum RoomEvent {
    /// Someone said something. Its id is the event's position in the room
    /// (the offset), which `send` answers too.
    Message { from: String, text: String },
    /// Someone joined.
    Joined { name: String },
    /// Someone left (or their connection closed).
    Left { name: String },
}

/// Why a chat call failed: each has its own code, and its fields travel as
/// the error's data, so the typed client gets the same value back.
#[derive(Debug, PartialEq, RpcError)]
pub(crate) enum ChatError {
    /// `send` before `join`.
    #[rpc_error(code = 1001, message = "join the room first")]
    NotJoined,
    /// The name is in use in that room.
    #[rpc_error(code = 1002, message = "that name is taken")]
    NameTaken { name: String },
    /// An empty or over-long name, room or message: `what` says which.
    #[rpc_error(code = 1003, message = "invalid name, room or message")]
    Invalid { what: String },
    /// The room's events could not be published (the bus is down).
    #[rpc_error(code = 1004, message = "the chat is unavailable")]
    Unavailable { reason: String },
}

/// A chat server: rooms, names, messages, and live room events.
#[wirecall::rpc(server, client, openrpc, namespace = "chat")]
pub(crate) trait Chat {
    /// Joins `room` as `name` on this connection; answers who is in the
    /// room, on every node. A name is taken once per room across nodes;
    /// `key`, a secret the page keeps, lets it take its name again after a
    /// reconnect (on any node) before the old connection's end is noticed.
    #[method(name = "join")]
    async fn join(
        &self,
        ctx: Context,
        room: String,
        name: String,
        key: Option<String>,
    ) -> Result<Vec<String>, ChatError>;

    /// Says `text` in `room` (joined first); answers the message id, unique
    /// in the room across nodes.
    #[method(name = "send")]
    async fn send(&self, ctx: Context, room: String, text: String) -> Result<u64, ChatError>;

    /// Who is in `room`, on every node.
    #[method(name = "users")]
    async fn users(&self, room: String) -> Result<Vec<String>, ChatError>;

    /// Messages and presence changes of `room`, live.
    #[subscription(name = "subscribe", unsubscribe = "unsubscribe", notification = "chat_event", item = RoomEvent)]
    async fn events(&self, sink: PendingSubscription<RoomEvent>, room: String);
}
