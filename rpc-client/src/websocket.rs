//! Opening the WebSocket: the upgrade request with its headers, limits
//! and TLS, kept so a reconnecting client can open it again.

use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::{ClientBuilder, ConnectError};

/// A WebSocket opened by [`ClientBuilder::open_socket`].
pub type WebSocket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Everything needed to open the connection again.
pub(crate) struct WsDialer {
    request: Request,
    ws_config: WebSocketConfig,
    connector: Connector,
    timeout: Duration,
}

impl WsDialer {
    pub(crate) fn new(builder: &ClientBuilder, url: &str) -> Result<WsDialer, ConnectError> {
        let mut request = url
            .into_client_request()
            .map_err(|err| ConnectError::InvalidRequest(err.to_string()))?;
        for (name, value) in &builder.header_map()? {
            request.headers_mut().append(name, value.clone());
        }
        let mut ws_config = WebSocketConfig::default();
        ws_config.max_message_size = Some(builder.max_message_size);
        ws_config.max_frame_size = Some(builder.max_message_size);
        let connector = if request.uri().scheme_str() == Some("wss") {
            Connector::Rustls(builder.tls_config())
        } else {
            Connector::Plain
        };
        Ok(WsDialer {
            request,
            ws_config,
            connector,
            timeout: builder.connect_timeout,
        })
    }

    pub(crate) async fn dial(&self) -> Result<WebSocket, ConnectError> {
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            self.request.clone(),
            Some(self.ws_config),
            true,
            Some(self.connector.clone()),
        );
        match tokio::time::timeout(self.timeout, connecting).await {
            Ok(Ok((socket, _response))) => Ok(socket),
            Ok(Err(WsError::Http(response))) => Err(ConnectError::Refused {
                status: response.status().as_u16(),
            }),
            Ok(Err(err)) => Err(ConnectError::Handshake(err)),
            Err(_) => Err(ConnectError::Timeout(self.timeout)),
        }
    }
}

/// The rustls configuration when none is given: the Mozilla roots of
/// `webpki-roots`.
pub(crate) fn default_tls() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // ring builds with no C toolchain; rustls 0.23.48 deprecates its
    // provider only for lacking post-quantum key exchange (aws-lc-rs has it).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}
