//! Two services' documents as one, for routers merged onto one connection.

use serde_json::Value;

use super::document::{Document, SCHEMA_REF_PREFIX};

impl Document {
    /// Appends `other`'s methods and shared schemas. This document keeps
    /// its own `info`. A schema name both use for different schemas keeps
    /// this document's meaning; `other`'s is renamed (`Name2`, `Name3`, …)
    /// and its references follow.
    pub fn merge(&mut self, mut other: Document) {
        let mut renamed = Vec::new();
        for (name, schema) in &other.components.schemas {
            if self
                .components
                .schemas
                .get(name)
                .is_some_and(|ours| ours != schema)
            {
                let taken = |candidate: &String| {
                    self.components.schemas.contains_key(candidate)
                        || other.components.schemas.contains_key(candidate)
                };
                let mut n = 2;
                while taken(&format!("{name}{n}")) {
                    n += 1;
                }
                renamed.push((name.clone(), format!("{name}{n}")));
            }
        }
        for (from, to) in &renamed {
            if let Some(schema) = other.components.schemas.remove(from) {
                other.components.schemas.insert(to.clone(), schema);
            }
            let (from, to) = (
                format!("{SCHEMA_REF_PREFIX}{from}"),
                format!("{SCHEMA_REF_PREFIX}{to}"),
            );
            let schemas = other.components.schemas.values_mut();
            let in_methods = other.methods.iter_mut().flat_map(|method| {
                let params = method.params.iter_mut().map(|param| &mut param.schema);
                let result = method.result.iter_mut().map(|result| &mut result.schema);
                let item = method.subscription.iter_mut().map(|sub| &mut sub.item);
                params.chain(result).chain(item)
            });
            for schema in schemas.chain(in_methods) {
                rename_refs(schema, &from, &to);
            }
        }
        for (name, schema) in other.components.schemas {
            self.components.schemas.entry(name).or_insert(schema);
        }
        self.methods.extend(other.methods);
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
}
