//! How a node reaches Redis: one server (a command connection that
//! reconnects by itself, and a pub/sub connection) or a Redis Cluster (one
//! connection that routes each command to the shard owning its keys, and
//! sharded pub/sub, whose messages arrive as RESP3 pushes).

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// The command side of either kind of deployment.
#[derive(Clone)]
pub(super) enum Commands {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Commands {
    /// The command that publishes on a topic's channel: sharded on a
    /// cluster, so a channel lives on the shard of its topic's keys.
    pub(super) fn publish_command(&self) -> &'static str {
        match self {
            Commands::Single(_) => "PUBLISH",
            Commands::Cluster(_) => "SPUBLISH",
        }
    }
}

impl ConnectionLike for Commands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Commands::Single(connection) => connection.req_packed_command(cmd),
            Commands::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Commands::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Commands::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Commands::Single(connection) => connection.get_db(),
            Commands::Cluster(connection) => connection.get_db(),
        }
    }
}
