//! Opening the connection every command shares: its URL, headers and
//! timeout, and a one-line failure when it cannot be opened.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

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
    /// A PEM file whose certificates are the only ones trusted for wss://
    /// and https://.
    pub(crate) cacert: Option<PathBuf>,
}

/// TLS that trusts the certificates of `file`, and only them.
fn trusting(file: &Path) -> Result<Arc<rustls::ClientConfig>, Failure> {
    let unreadable = |why: String| Failure::Usage(format!("--cacert {}: {why}", file.display()));
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(file).map_err(|err| unreadable(err.to_string()))?;
    for cert in certs {
        let cert = cert.map_err(|err| unreadable(err.to_string()))?;
        roots
            .add(cert)
            .map_err(|err| unreadable(format!("not a usable certificate: {err}")))?;
    }
    if roots.is_empty() {
        return Err(unreadable("holds no PEM certificate".into()));
    }
    #[allow(deprecated)] // ring, as the client uses (see wirecall-client's default_tls)
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Failure::Other(format!("TLS cannot start: {err}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Whether `source` is a URL this command connects to.
pub(crate) fn is_url(source: &str) -> bool {
    ["ws://", "wss://", "http://", "https://"]
        .iter()
        .any(|scheme| source.starts_with(scheme))
}

fn builder(options: &Options, url: &str) -> Result<ClientBuilder, Failure> {
    if !is_url(url) {
        return Err(Failure::Usage(format!(
            "bad URL `{url}`: use ws://HOST:PORT/PATH (or wss://, http://, https://)"
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
    if let Some(file) = &options.cacert {
        builder = builder.tls(trusting(file)?);
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
    if url.starts_with("http://") || url.starts_with("https://") {
        return Err(Failure::Usage(format!(
            "--raw shows WebSocket frames as they came; over HTTP the answer is the \
             response body (curl -d '<json>' -H 'Content-Type: application/json' {url})"
        )));
    }
    builder(options, url)?
        .open_socket(url)
        .await
        .map_err(|err| connect_failure(url, err))
}
