//! Opening the connection every command shares: its URL, headers and
//! timeout, and a one-line failure when it cannot be opened.

use std::time::Duration;

use wirecall::client::{ClientBuilder, WebSocket};
use wirecall::Client;

use crate::failure::{connect_failure, Failure};

/// What every command shares.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) headers: Vec<String>,
    pub(crate) timeout: Duration,
    /// Whether to ask the server for its OpenRPC document before a call.
    pub(crate) discover: bool,
}

fn builder(options: &Options, url: &str) -> Result<ClientBuilder, Failure> {
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
    Ok(builder)
}

/// A client connected to `url`.
pub(crate) async fn client(options: &Options, url: &str) -> Result<Client, Failure> {
    builder(options, url)?
        .connect(url)
        .await
        .map_err(|err| connect_failure(url, err))
}

/// The bare WebSocket to `url`, for `--raw`.
pub(crate) async fn socket(options: &Options, url: &str) -> Result<WebSocket, Failure> {
    builder(options, url)?
        .open_socket(url)
        .await
        .map_err(|err| connect_failure(url, err))
}
