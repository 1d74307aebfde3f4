//! `wirecall codegen`: typed client code from a server's OpenRPC document,
//! read from the server itself (`rpc.discover`) or from a file.

mod names;
mod types;
mod typescript;

use std::path::Path;

use wirecall::openrpc::Document;

use crate::connect::{self, Options};
use crate::document;
use crate::failure::Failure;

/// Writes the TypeScript client for `source` (a server's URL or a
/// JSON file) to `out` (`-` for stdout), importing the runtime from `import`.
pub(crate) async fn typescript(
    options: &Options,
    source: &str,
    out: &str,
    import: &str,
) -> Result<(), Failure> {
    let document = load(options, source).await?;
    let module = typescript::module(&document, import);
    if out == "-" {
        crate::commands::print_line(module.trim_end());
        return Ok(());
    }
    std::fs::write(Path::new(out), module)
        .map_err(|err| Failure::Other(format!("cannot write {out}: {err}")))
}

async fn load(options: &Options, source: &str) -> Result<Document, Failure> {
    if connect::is_url(source) {
        let client = connect::client(options, source).await?;
        let found = document::fetch(&client).await;
        client.close().await;
        return found?.ok_or_else(|| {
            Failure::AnsweredWithErrors(format!(
                "{source} serves no OpenRPC document (it has no rpc.discover)"
            ))
        });
    }
    let text = std::fs::read_to_string(source)
        .map_err(|err| Failure::Usage(format!("cannot read {source}: {err}")))?;
    serde_json::from_str(&text)
        .map_err(|err| Failure::Usage(format!("{source} does not hold an OpenRPC document: {err}")))
}
