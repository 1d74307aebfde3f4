//! Writes a document from Rust types: their schemas come from `schemars`
//! with Draft-07 settings, shared ones under `#/components/schemas`.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::document::{ContentDescriptor, Document, Method, SubscriptionSpec};

/// Builds a [`Document`] method by method. `#[rpc(openrpc)]` writes the
/// calls to it; a router written by hand can use it too.
///
/// # Examples
///
/// ```
/// use wirecall::openrpc::{DocumentBuilder, Method};
///
/// let mut builder = DocumentBuilder::new("calculator", "1.0.0");
/// let mut add = Method::new("add");
/// add.summary = Some("Adds two numbers.".into());
/// add.params = vec![builder.param::<i64>("a"), builder.param::<Option<i64>>("b")];
/// add.result = Some(builder.result::<i64>());
/// builder.method(add);
/// let document = builder.finish();
/// let add = document.method("add").unwrap();
/// assert!(add.params[0].required && !add.params[1].required);
/// ```
pub struct DocumentBuilder {
    generator: SchemaGenerator,
    document: Document,
}

impl std::fmt::Debug for DocumentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentBuilder")
            .field("document", &self.document)
            .finish_non_exhaustive()
    }
}

impl DocumentBuilder {
    /// A builder for the service `title` at API `version`.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> DocumentBuilder {
        let settings = SchemaSettings::draft07().with(|settings| {
            settings.definitions_path = "/components/schemas".into();
        });
        DocumentBuilder {
            generator: settings.into_generator(),
            document: Document::new(title, version),
        }
    }

    /// Sets the service's description.
    pub fn description(&mut self, text: impl Into<String>) -> &mut DocumentBuilder {
        self.document.info.description = Some(text.into());
        self
    }

    /// The schema of `T`: inline for simple types, a reference into the
    /// document's components for named ones.
    pub fn schema<T: JsonSchema + ?Sized>(&mut self) -> Value {
        let mut schema: Schema = self.generator.subschema_for::<T>();
        for transform in self.generator.transforms_mut() {
            transform.transform(&mut schema);
        }
        schema.to_value()
    }

    /// A param of type `T`. It is required unless `T` decodes from `null`,
    /// which is what a handler reads when the param is left out.
    pub fn param<T: JsonSchema + DeserializeOwned>(&mut self, name: &str) -> ContentDescriptor {
        let param = ContentDescriptor::new(name, self.schema::<T>());
        if serde_json::from_str::<T>("null").is_ok() {
            param
        } else {
            param.required()
        }
    }

    /// A call's result of type `T`.
    pub fn result<T: JsonSchema + ?Sized>(&mut self) -> ContentDescriptor {
        ContentDescriptor::new("result", self.schema::<T>())
    }

    /// Adds a method.
    pub fn method(&mut self, method: Method) -> &mut DocumentBuilder {
        self.document.methods.push(method);
        self
    }

    /// Adds a subscribe call with items of type `Item`: its result is the
    /// subscription id, and its `unsubscribe` method is added after it.
    pub fn subscription<Item: JsonSchema + ?Sized>(
        &mut self,
        mut subscribe: Method,
        notification: &str,
        unsubscribe: &str,
    ) -> &mut DocumentBuilder {
        let id = serde_json::json!({"type": "string"});
        subscribe.result = Some(ContentDescriptor::new("subscription", id.clone()));
        subscribe.subscription = Some(SubscriptionSpec::new(
            notification,
            unsubscribe,
            self.schema::<Item>(),
        ));
        let mut end = Method::new(unsubscribe);
        end.summary = Some(format!(
            "Ends a subscription started by `{}`.",
            subscribe.name
        ));
        end.params = vec![ContentDescriptor::new("subscription", id).required()];
        end.result = Some(ContentDescriptor::new(
            "result",
            serde_json::json!({"type": "boolean"}),
        ));
        end.deprecated = subscribe.deprecated;
        self.document.methods.push(subscribe);
        self.document.methods.push(end);
        self
    }

    /// The document, with every shared schema the methods refer to.
    pub fn finish(mut self) -> Document {
        self.document.components.schemas = self.generator.take_definitions(true);
        self.document
    }
}
