//! Why a command failed, its one-line message and its exit code.

use wirecall::client::ConnectError;
use wirecall::{CallError, ErrorObject};

/// Exit codes, as `--help` lists them.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  done (a subscription ended, reached --count or was stopped with Ctrl-C)
  1  something else failed (an answer that is not JSON, a file that cannot be read)
  2  usage: a bad argument, URL, header, --cacert or batch file, or an
     argument the server's document (rpc.discover) rules out
  3  connection: refused, unreachable, or closed before the answer
  4  timeout: no connection or no answer within --timeout
  5  the server answered with an error object (printed to stderr; for a
     batch or with --raw, printed with the other output)";

#[derive(Debug)]
pub(crate) enum Failure {
    Usage(String),
    Connection(String),
    Timeout(String),
    Rpc(ErrorObject),
    /// Errors printed with the other answers (a batch).
    AnsweredWithErrors(String),
    Other(String),
}

impl Failure {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Other(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Connection(_) => 3,
            Failure::Timeout(_) => 4,
            Failure::Rpc(_) | Failure::AnsweredWithErrors(_) => 5,
        }
    }

    /// The message without its `wirecall: ` lead, to go inside another.
    pub(crate) fn reason(&self) -> String {
        let message = self.message();
        message
            .strip_prefix("wirecall: ")
            .map_or_else(|| message.clone(), ToOwned::to_owned)
    }

    /// What goes to stderr.
    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Usage(why)
            | Failure::Connection(why)
            | Failure::Timeout(why)
            | Failure::AnsweredWithErrors(why)
            | Failure::Other(why) => format!("wirecall: {why}"),
            Failure::Rpc(error) => describe(error),
        }
    }
}

/// `error CODE: MESSAGE`, and the data on a second line when there is some.
pub(crate) fn describe(error: &ErrorObject) -> String {
    let mut text = format!("error {}: {}", error.code.code(), error.message);
    if let Some(data) = &error.data {
        text.push_str("\ndata: ");
        text.push_str(data.get());
    }
    text
}

impl From<CallError> for Failure {
    fn from(err: CallError) -> Failure {
        match err {
            CallError::Rpc(error) => Failure::Rpc(error),
            CallError::Closed(closed) | CallError::Disconnected(closed) => {
                Failure::Connection(format!("the connection ended: {closed}"))
            }
            CallError::Timeout(after) => Failure::Timeout(format!("no answer within {after:?}")),
            CallError::Encode(err) => Failure::Usage(format!("the params do not encode: {err}")),
            other => Failure::Other(other.to_string()),
        }
    }
}

/// What went wrong connecting to `url`.
pub(crate) fn connect_failure(url: &str, err: ConnectError) -> Failure {
    match err {
        ConnectError::InvalidRequest(why) => {
            Failure::Usage(format!("cannot connect to {url}: {why}"))
        }
        ConnectError::Refused { status } => Failure::Connection(format!(
            "{url} refused the WebSocket upgrade with HTTP {status}"
        )),
        ConnectError::Timeout(after) => {
            Failure::Timeout(format!("no connection to {url} within {after:?}"))
        }
        other => {
            // The causes say what failed ("tcp connect error: Connection
            // refused"); "connecting failed" above them says nothing more.
            let mut causes = Vec::new();
            let mut cause = std::error::Error::source(&other);
            while let Some(inner) = cause {
                let said = inner.to_string();
                if !causes.iter().any(|told: &String| told.contains(&said)) {
                    causes.push(said);
                }
                cause = inner.source();
            }
            if causes.is_empty() {
                causes.push(other.to_string());
            }
            Failure::Connection(format!("cannot connect to {url}: {}", causes.join(": ")))
        }
    }
}
