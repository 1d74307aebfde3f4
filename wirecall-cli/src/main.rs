//! `wirecall`: call, notify, batch and subscribe to a JSON-RPC 2.0 server
//! over WebSocket from the command line.

mod args;
mod commands;
mod failure;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use failure::{Failure, EXIT_CODES};

/// Talk to a JSON-RPC 2.0 server over WebSocket (ws:// or wss://).
///
/// Call arguments are JSON values sent by position (`42`, `'"text"'`,
/// `'[1,2]'`), or `key=value` (a string) and `key:=json` sent by name.
#[derive(Debug, Parser)]
#[command(name = "wirecall", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// An HTTP header for the WebSocket upgrade, as `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K:V", global = true)]
    headers: Vec<String>,
    /// Seconds to wait for the connection and for each answer.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, global = true)]
    timeout: f64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Call METHOD and print its result (pretty on a terminal, compact JSON otherwise).
    Call {
        /// The server, e.g. ws://127.0.0.1:4000/.
        url: String,
        method: String,
        /// JSON values by position, or key=value / key:=json by name.
        args: Vec<String>,
    },
    /// Send METHOD as a notification: nothing is answered.
    Notify {
        url: String,
        method: String,
        args: Vec<String>,
    },
    /// Send the calls of a JSON file (or `-` for stdin) as one batch and print
    /// the answers in order. Each entry is {"method", "params"?, "id"?}; an
    /// entry without "id" is a notification.
    Batch {
        url: String,
        /// The file, or `-` for stdin.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: String,
    },
    /// Subscribe with METHOD and print each item as one JSON line; lag and
    /// end notices go to stderr. Ctrl-C unsubscribes and exits.
    Subscribe {
        url: String,
        method: String,
        args: Vec<String>,
        /// Stop (and unsubscribe) after this many items.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// The method that ends the subscription (default: METHOD with
        /// `subscribe` turned into `unsubscribe`).
        #[arg(long, value_name = "METHOD")]
        unsubscribe: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("wirecall: cannot start: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.message());
            ExitCode::from(failure.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if !(cli.timeout > 0.0 && cli.timeout.is_finite()) {
        return Err(Failure::Usage(format!(
            "--timeout {} is not a positive number of seconds",
            cli.timeout
        )));
    }
    let options = commands::Options {
        headers: cli.headers,
        timeout: Duration::from_secs_f64(cli.timeout),
    };
    match cli.command {
        Command::Call { url, method, args } => commands::call(&options, &url, &method, &args).await,
        Command::Notify { url, method, args } => {
            commands::notify(&options, &url, &method, &args).await
        }
        Command::Batch { url, file } => commands::batch(&options, &url, &file).await,
        Command::Subscribe {
            url,
            method,
            args,
            count,
            unsubscribe,
        } => {
            let unsubscribe = match unsubscribe {
                Some(name) => name,
                None => commands::unsubscribe_name(&method).ok_or_else(|| {
                    Failure::Usage(format!(
                        "cannot guess how to end `{method}`: pass --unsubscribe METHOD"
                    ))
                })?,
            };
            commands::subscribe(&options, &url, &method, &args, count, &unsubscribe).await
        }
    }
}
