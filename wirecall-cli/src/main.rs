//! `wirecall`: call, notify, batch and subscribe to a JSON-RPC 2.0 server
//! over WebSocket from the command line.

mod args;
mod check;
mod codegen;
mod commands;
mod connect;
mod document;
mod failure;
mod raw;

use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, Parser, Subcommand};

use failure::{Failure, EXIT_CODES};

/// Talk to a JSON-RPC 2.0 server over WebSocket (ws://, wss://) or plain
/// HTTP (http://, https://; subscriptions as Server-Sent Events).
///
/// Call arguments are JSON values sent by position (`42`, `'"text"'`,
/// `'[1,2]'`), or `key=value` and `key:=json` sent by name. When the server
/// has an OpenRPC document (`rpc.discover`), arguments are checked against
/// it before they are sent, and `key=value` becomes the number, boolean or
/// JSON value its param takes (a string otherwise).
#[derive(Debug, Parser)]
#[command(name = "wirecall", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// An HTTP header for the WebSocket upgrade, or for every request over
    /// HTTP, as `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K:V", global = true)]
    headers: Vec<String>,
    /// Seconds to wait for the connection and for each answer.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, global = true)]
    timeout: f64,
    /// Do not ask the server for its document: send arguments unchecked.
    #[arg(long, global = true)]
    no_discover: bool,
    /// For wss:// and https://: trust the certificates in this PEM file (and no others),
    /// e.g. a server's self-signed one.
    #[arg(long, value_name = "FILE", global = true)]
    cacert: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Call METHOD and print its result (pretty on a terminal, compact JSON
    /// otherwise). With METHOD, --help shows its params from the server's
    /// document.
    #[command(disable_help_flag = true)]
    Call {
        /// The server, e.g. ws://127.0.0.1:4000/ or http://127.0.0.1:4000/.
        url: Option<String>,
        method: Option<String>,
        /// JSON values by position, or key=value / key:=json by name.
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        /// Print the whole response frame as the server sent it (over
        /// WebSocket only).
        #[arg(long)]
        raw: bool,
        /// Print help; after METHOD, that method's params.
        #[arg(short = 'h', long = "help", action = ArgAction::SetTrue)]
        help: bool,
    },
    /// List the server's methods, their params and docs, from its OpenRPC
    /// document (`rpc.discover`).
    Discover {
        url: String,
        /// Print the document itself, as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send METHOD as a notification: nothing is answered.
    Notify {
        url: String,
        method: String,
        #[arg(allow_negative_numbers = true)]
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
        /// Print the whole response frame as the server sent it (over
        /// WebSocket only).
        #[arg(long)]
        raw: bool,
    },
    /// Subscribe with METHOD and print each item as one JSON line; lag and
    /// end notices go to stderr. Ctrl-C unsubscribes and exits.
    Subscribe {
        url: String,
        method: String,
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        /// Stop (and unsubscribe) after this many items.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// The method that ends the subscription (default: the one the
        /// server's document names, else METHOD with `subscribe` turned
        /// into `unsubscribe`).
        #[arg(long, value_name = "METHOD")]
        unsubscribe: Option<String>,
    },
    /// Write a typed client for a server from its OpenRPC document.
    Codegen {
        /// The language to write.
        #[arg(value_enum)]
        language: Language,
        /// A ws://, wss://, http:// or https:// URL (its rpc.discover), or a
        /// JSON file holding
        /// an OpenRPC document.
        source: String,
        /// The file to write, or `-` for stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: String,
        /// The module the generated code imports the client runtime from.
        #[arg(long, value_name = "MODULE", default_value = "@wirecall/client")]
        import: String,
    },
}

/// A language `codegen` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Language {
    /// TypeScript over the `@wirecall/client` package (clients/typescript).
    Typescript,
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
    let options = connect::Options {
        headers: cli.headers,
        timeout: Duration::from_secs_f64(cli.timeout),
        discover: !cli.no_discover,
        cacert: cli.cacert,
    };
    match cli.command {
        Command::Call {
            url,
            method,
            args,
            raw,
            help,
        } => match (url, method, help) {
            (Some(url), Some(method), true) => commands::method_help(&options, &url, &method).await,
            (_, _, true) => {
                let mut command = Cli::command();
                command.build();
                let call = command
                    .find_subcommand_mut("call")
                    .expect("the call command exists");
                commands::print_line(&call.render_long_help().to_string());
                Ok(())
            }
            (Some(url), Some(method), false) => {
                commands::call(&options, &url, &method, &args, raw).await
            }
            _ => Err(Failure::Usage(
                "call needs a URL and a METHOD: wirecall call URL METHOD [ARGS]… (--help for more)"
                    .into(),
            )),
        },
        Command::Discover { url, json } => commands::discover(&options, &url, json).await,
        Command::Notify { url, method, args } => {
            commands::notify(&options, &url, &method, &args).await
        }
        Command::Batch { url, file, raw } => commands::batch(&options, &url, &file, raw).await,
        Command::Subscribe {
            url,
            method,
            args,
            count,
            unsubscribe,
        } => commands::subscribe(&options, &url, &method, &args, count, unsubscribe).await,
        Command::Codegen {
            language: Language::Typescript,
            source,
            output,
            import,
        } => codegen::typescript(&options, &source, &output, &import).await,
    }
}
