//! Two services' documents as one, for routers merged onto one connection.

use serde_json::Value;

use super::document::{Document, SCHEMA_REF_PREFIX};

impl Document {
    /// Appends `other`'s methods and shared schemas. This document keeps
    /// its own `info`. A schema name both use for different schemas keeps
    /// this document's meaning; `other`'s is renamed (`Name2`, `Name3`, …)
    /// and its references follow.
    pub fn merge(&mut self, mut other: Document) {
        // One clash at a time: renaming a schema changes the schemas that
        // refer to it, which may make them differ from ours in turn.
        while let Some(name) = self.first_clash(&other) {
            let mut n = 2;
            let fresh = loop {
                let candidate = format!("{name}{n}");
                if !self.components.schemas.contains_key(&candidate)
                    && !other.components.schemas.contains_key(&candidate)
                {
                    break candidate;
                }
                n += 1;
            };
            other.rename_schema(&name, &fresh);
        }
        for (name, schema) in other.components.schemas {
            self.components.schemas.entry(name).or_insert(schema);
        }
        self.methods.extend(other.methods);
    }

    /// A schema name both documents use for different schemas.
    fn first_clash(&self, other: &Document) -> Option<String> {
        other
            .components
            .schemas
            .iter()
            .find(|(name, schema)| {
                self.components
                    .schemas
                    .get(*name)
                    .is_some_and(|ours| ours != *schema)
            })
            .map(|(name, _)| name.clone())
    }

    /// Moves a shared schema to a new name, with every reference to it.
    fn rename_schema(&mut self, from: &str, to: &str) {
        if let Some(schema) = self.components.schemas.remove(from) {
            self.components.schemas.insert(to.to_owned(), schema);
        }
        let (from, to) = (
            format!("{SCHEMA_REF_PREFIX}{from}"),
            format!("{SCHEMA_REF_PREFIX}{to}"),
        );
        let schemas = self.components.schemas.values_mut();
        let in_methods = self.methods.iter_mut().flat_map(|method| {
            let params = method.params.iter_mut().map(|param| &mut param.schema);
            let result = method.result.iter_mut().map(|result| &mut result.schema);
            let item = method.subscription.iter_mut().map(|sub| &mut sub.item);
            params.chain(result).chain(item)
        });
        for schema in schemas.chain(in_methods) {
            rename_refs(schema, &from, &to);
        }
    }
}

/// Points every `$ref` equal to `from` at `to`.
fn rename_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                if key == "$ref" && member.as_str() == Some(from) {
                    *member = Value::String(to.to_owned());
                } else {
                    rename_refs(member, from, to);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rename_refs(item, from, to);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{ContentDescriptor, Document, Method};

    fn service(method: &str, point: serde_json::Value) -> Document {
        let mut document = Document::new(method, "1");
        let mut call = Method::new(method);
        call.result = Some(ContentDescriptor::new(
            "result",
            json!({"$ref": "#/components/schemas/Point"}),
        ));
        document.methods.push(call);
        document.components.schemas.insert("Point".into(), point);
        document
    }

    #[test]
    fn a_clashing_schema_name_is_renamed_with_its_references() {
        let mut first = service("a", json!({"type": "object"}));
        first.merge(service("b", json!({"type": "array"})));
        first.merge(service("c", json!({"type": "object"})));
        let names: Vec<&str> = first.methods.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(first.info.title, "a");
        assert_eq!(first.components.schemas.len(), 2);
        assert_eq!(first.components.schemas["Point2"], json!({"type": "array"}));
        let schema_of = |name: &str| {
            first
                .method(name)
                .unwrap()
                .result
                .as_ref()
                .unwrap()
                .schema
                .clone()
        };
        assert_eq!(
            schema_of("a"),
            json!({"$ref": "#/components/schemas/Point"})
        );
        assert_eq!(
            schema_of("b"),
            json!({"$ref": "#/components/schemas/Point2"})
        );
        // Equal schemas under one name are kept once.
        assert_eq!(
            schema_of("c"),
            json!({"$ref": "#/components/schemas/Point"})
        );
    }

    #[test]
    fn a_schema_that_refers_to_a_renamed_one_is_renamed_too() {
        // Both have `Page` written alike, but each refers to its own `Point`.
        let page = json!({"type": "array", "items": {"$ref": "#/components/schemas/Point"}});
        let with_page = |method: &str, point| {
            let mut document = service(method, point);
            document.methods[0].result.as_mut().unwrap().schema =
                json!({"$ref": "#/components/schemas/Page"});
            document
                .components
                .schemas
                .insert("Page".into(), page.clone());
            document
        };
        let mut first = with_page("a", json!({"type": "object"}));
        first.merge(with_page("b", json!({"type": "string"})));
        let b = &first.method("b").unwrap().result.as_ref().unwrap().schema;
        let b_page = first.resolve(b);
        assert_eq!(
            b_page["items"],
            json!({"$ref": "#/components/schemas/Point2"})
        );
        assert_eq!(
            first.components.schemas["Point2"],
            json!({"type": "string"})
        );
        assert_eq!(first.components.schemas["Page"], page);
    }
}
