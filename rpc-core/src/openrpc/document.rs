//! The parts of an OpenRPC document wirecall writes and reads. Schemas stay
//! JSON values: they are JSON Schema Draft-07, as OpenRPC 1.3.2 asks.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::protocol::suggest::closest;

/// The OpenRPC version documents are written in.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// A service description: what `rpc.discover` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Document {
    /// The OpenRPC version, [`OPENRPC_VERSION`] for documents written here.
    pub openrpc: String,
    /// The service's title, version and description.
    pub info: Info,
    /// Every method a client may call, in the order they were declared.
    pub methods: Vec<Method>,
    /// Schemas that several places refer to (`#/components/schemas/Name`).
    #[serde(default, skip_serializing_if = "Components::is_empty")]
    pub components: Components,
}

/// Who the service is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Info {
    /// The service's name.
    pub title: String,
    /// The version of the API (not of OpenRPC).
    pub version: String,
    /// What the service does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One method: a call, a notification (no `result`), or a subscribe call
/// (with `x-subscription`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Method {
    /// The name on the wire.
    pub name: String,
    /// One line on what it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The whole explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The params, in their positional order.
    pub params: Vec<ContentDescriptor>,
    /// What a call answers; absent for a method that is only notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ContentDescriptor>,
    /// The application errors it may answer with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorSpec>,
    /// Whether params go by name, by position, or either.
    #[serde(default)]
    pub param_structure: ParamStructure,
    /// Whether clients should stop calling it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
    /// Whether running it twice does no harm (`#[method(idempotent)]`), so
    /// a reconnecting client may send it again after a cut.
    #[serde(rename = "x-idempotent", default, skip_serializing_if = "is_false")]
    pub idempotent: bool,
    /// For a subscribe call: how its items come and how it ends.
    #[serde(
        rename = "x-subscription",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription: Option<SubscriptionSpec>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

impl Method {
    /// A method with no params, no result and no docs.
    pub fn new(name: impl Into<String>) -> Method {
        Method {
            name: name.into(),
            summary: None,
            description: None,
            params: Vec::new(),
            result: None,
            errors: Vec::new(),
            param_structure: ParamStructure::Either,
            deprecated: false,
            idempotent: false,
            subscription: None,
        }
    }

    /// The param called `name`.
    pub fn param(&self, name: &str) -> Option<&ContentDescriptor> {
        self.params.iter().find(|param| param.name == name)
    }

    /// The param name closest to `wrong`, for a "did you mean …?".
    pub fn closest_param(&self, wrong: &str) -> Option<&str> {
        closest(wrong, self.params.iter().map(|param| param.name.as_str()))
    }
}

/// How a method's params may be sent. wirecall's handlers read either.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamStructure {
    /// An array, in the order of `params`.
    ByPosition,
    /// An object keyed by the params' names.
    ByName,
    /// Either of the two.
    #[default]
    Either,
}

/// A named value and its schema: a param, or a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContentDescriptor {
    /// The param's name on the wire.
    pub name: String,
    /// One line on what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The whole explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a call must send it. A param that may be left out decodes
    /// as `null` (an `Option`, say).
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Its JSON Schema.
    pub schema: Value,
}

impl ContentDescriptor {
    /// A descriptor with a schema and nothing else.
    pub fn new(name: impl Into<String>, schema: Value) -> ContentDescriptor {
        ContentDescriptor {
            name: name.into(),
            summary: None,
            description: None,
            required: false,
            schema,
        }
    }

    /// The same, marked as required.
    #[must_use]
    pub fn required(mut self) -> ContentDescriptor {
        self.required = true;
        self
    }
}

/// An error a method may answer with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorSpec {
    /// The error object's `code`.
    pub code: i64,
    /// Its `message`.
    pub message: String,
}

impl ErrorSpec {
    /// An error with its code and message.
    pub fn new(code: i64, message: impl Into<String>) -> ErrorSpec {
        ErrorSpec {
            code,
            message: message.into(),
        }
    }

    /// The errors an application error type declares
    /// ([`RpcError::error_codes`](crate::RpcError::error_codes)).
    pub fn of<E: crate::protocol::RpcError>() -> Vec<ErrorSpec> {
        E::error_codes()
            .iter()
            .map(|&(code, message)| ErrorSpec::new(code.into(), message))
            .collect()
    }
}

/// `x-subscription`: what a subscribe call starts. OpenRPC has no word for
/// server-pushed items, so this extension names the notification that
/// carries them, their schema, and the method that ends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubscriptionSpec {
    /// The method name of the notifications that carry the items.
    pub notification: String,
    /// The method that ends it, given the subscription id.
    pub unsubscribe: String,
    /// The schema of one item.
    pub item: Value,
}

impl SubscriptionSpec {
    /// The extension for a subscription.
    pub fn new(
        notification: impl Into<String>,
        unsubscribe: impl Into<String>,
        item: Value,
    ) -> SubscriptionSpec {
        SubscriptionSpec {
            notification: notification.into(),
            unsubscribe: unsubscribe.into(),
            item,
        }
    }
}

/// Schemas kept once and referred to by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Components {
    /// Schemas by name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub schemas: Map<String, Value>,
}

impl Components {
    fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }
}

impl Document {
    /// A document with no methods.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Document {
        Document {
            openrpc: OPENRPC_VERSION.to_owned(),
            info: Info {
                title: title.into(),
                version: version.into(),
                description: None,
            },
            methods: Vec::new(),
            components: Components::default(),
        }
    }

    /// The method called `name`.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.iter().find(|method| method.name == name)
    }

    /// The method name closest to `wrong`, for a "did you mean …?".
    pub fn closest_method(&self, wrong: &str) -> Option<&str> {
        closest(
            wrong,
            self.methods.iter().map(|method| method.name.as_str()),
        )
    }

    /// Follows a `$ref` into `components.schemas`; any other schema is
    /// returned as it is.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        // A chain of references is followed a bounded number of times, so
        // a document that refers to itself cannot loop.
        for _ in 0..8 {
            let Some(name) = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|target| target.strip_prefix(SCHEMA_REF_PREFIX))
            else {
                break;
            };
            match self.components.schemas.get(name) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }
}

/// Where a reference to a shared schema points.
pub(crate) const SCHEMA_REF_PREFIX: &str = "#/components/schemas/";
