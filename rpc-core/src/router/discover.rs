//! `rpc.discover`: the router's OpenRPC document, served as the spec's
//! service discovery method.

use std::sync::Arc;

use serde_json::value::RawValue;

use super::{Entry, Router};
use crate::openrpc::Document;
use crate::protocol::ErrorObject;

/// The method name OpenRPC gives service discovery.
pub(crate) const DISCOVER: &str = "rpc.discover";

impl Router {
    /// Serves `document` as `rpc.discover`, replacing any document set
    /// before. `#[rpc(openrpc)]` sets its service's document in
    /// `into_router()`; merging routers merges their documents.
    pub fn set_openrpc(&mut self, document: Document) -> &mut Router {
        // Written once; a document is plain JSON values, so this does not
        // fail, and if it ever did, each call would say so.
        let answer: Result<Arc<RawValue>, String> = serde_json::value::to_raw_value(&document)
            .map(Arc::from)
            .map_err(|err| format!("the document did not encode: {err}"));
        let method = super::method_fn(move |params, _| {
            params.reader()?.finish()?;
            let answer = answer.clone().map_err(ErrorObject::internal_error);
            Ok(std::future::ready(answer))
        });
        // The one name under `rpc.` a router may hold; `insert` refuses it.
        self.entries.insert(DISCOVER.into(), Entry::Method(method));
        self.openrpc = Some(Arc::new(document));
        self
    }

    /// The document this router serves as `rpc.discover`, if any.
    pub fn openrpc(&self) -> Option<&Document> {
        self.openrpc.as_deref()
    }

    /// After a merge: one document for both routers.
    pub(super) fn merge_openrpc(&mut self, other: Option<Arc<Document>>) {
        let Some(other) = other else { return };
        let merged = match self.openrpc.take() {
            Some(ours) => {
                let mut merged = Arc::unwrap_or_clone(ours);
                merged.merge(Arc::unwrap_or_clone(other));
                merged
            }
            None => Arc::unwrap_or_clone(other),
        };
        self.set_openrpc(merged);
    }
}
