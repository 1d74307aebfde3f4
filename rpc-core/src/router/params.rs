//! Params as they arrived (raw JSON), and a reader that takes them by
//! position or by name with errors that name the bad parameter.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::protocol::ErrorObject;

/// The `params` of a call, not yet decoded.
///
/// # Examples
///
/// ```
/// use wirecall::Params;
/// use serde_json::value::RawValue;
///
/// let by_name = RawValue::from_string(r#"{"subtrahend":23,"minuend":42}"#.into()).unwrap();
/// let mut reader = Params::new(Some(&by_name)).reader().unwrap();
/// let minuend: i64 = reader.next("minuend").unwrap();
/// let subtrahend: i64 = reader.next("subtrahend").unwrap();
/// reader.finish().unwrap();
/// assert_eq!(minuend - subtrahend, 19);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    raw: Option<&'a RawValue>,
}

impl<'a> Params<'a> {
    /// Wraps raw params (an array or an object), or their absence.
    pub fn new(raw: Option<&'a RawValue>) -> Params<'a> {
        Params { raw }
    }

    /// The raw JSON text, if params were given.
    pub fn raw(&self) -> Option<&'a RawValue> {
        self.raw
    }

    /// Whether params are absent, `[]` or `{}`.
    pub fn is_empty(&self) -> bool {
        self.raw.is_none_or(|raw| {
            let inner = raw.get()[1..raw.get().len() - 1].trim();
            inner.is_empty()
        })
    }

    /// Decodes the whole params value as one type with serde (absent params
    /// decode as `null`).
    ///
    /// # Errors
    ///
    /// -32602 Invalid params, with serde's description.
    pub fn parse<T: Deserialize<'a>>(&self) -> Result<T, ErrorObject> {
        let text = self.raw.map_or("null", RawValue::get);
        serde_json::from_str(text)
            .map_err(|err| ErrorObject::invalid_params(without_position(&err)))
    }

    /// A reader that takes parameters one by one, by position or by name.
    ///
    /// # Errors
    ///
    /// -32602 when a named parameter appears twice.
    pub fn reader(&self) -> Result<ParamsReader<'a>, ErrorObject> {
        let Some(raw) = self.raw else {
            return Ok(ParamsReader::new(Given::Nothing));
        };
        let given = if raw.get().starts_with('[') {
            let list: Vec<&'a RawValue> =
                serde_json::from_str(raw.get()).map_err(ErrorObject::invalid_params)?;
            Given::Positional(list)
        } else {
            let entries: NamedEntries<'a> =
                serde_json::from_str(raw.get()).map_err(ErrorObject::invalid_params)?;
            if let Some(name) = entries.duplicate() {
                return Err(ErrorObject::invalid_params(format!(
                    "parameter `{name}` is given twice"
                )));
            }
            Given::Named(entries.0.into_iter().map(|(k, v)| (k, Some(v))).collect())
        };
        Ok(ParamsReader::new(given))
    }
}

/// Takes parameters in declaration order; each by its position or its name,
/// whichever way the caller sent them.
///
/// A missing parameter decodes from `null`, so `Option<T>` parameters may be
/// left out while any other type reports "missing parameter".
#[derive(Debug)]
pub struct ParamsReader<'a> {
    given: Given<'a>,
    taken: usize,
    /// Names asked for and not sent, kept to explain a misspelled one.
    absent: Vec<String>,
}

#[derive(Debug)]
enum Given<'a> {
    Nothing,
    Positional(Vec<&'a RawValue>),
    Named(Vec<(Cow<'a, str>, Option<&'a RawValue>)>),
}

impl<'a> ParamsReader<'a> {
    fn new(given: Given<'a>) -> ParamsReader<'a> {
        ParamsReader {
            given,
            taken: 0,
            absent: Vec::new(),
        }
    }

    /// Decodes the next parameter, called `name`.
    ///
    /// # Errors
    ///
    /// -32602 naming the parameter when it is missing or has the wrong type.
    pub fn next<T: Deserialize<'a>>(&mut self, name: &str) -> Result<T, ErrorObject> {
        let position = self.taken;
        self.taken += 1;
        let raw = match &mut self.given {
            Given::Nothing => None,
            Given::Positional(list) => list.get(position).copied(),
            Given::Named(entries) => entries
                .iter_mut()
                .find(|(key, _)| key == name)
                .and_then(|(_, value)| value.take()),
        };
        if let Some(raw) = raw {
            return serde_json::from_str(raw.get()).map_err(|err| {
                ErrorObject::invalid_params(format!(
                    "invalid value for parameter `{name}`: {}",
                    without_position(&err)
                ))
            });
        }
        if matches!(self.given, Given::Named(_)) {
            self.absent.push(name.to_owned());
        }
        serde_json::from_str("null").map_err(|_| self.missing(name))
    }

    /// -32602 for a parameter that was not sent; when a name that was sent
    /// and not taken is close to it, that name is the mistake to report.
    fn missing(&self, name: &str) -> ErrorObject {
        if let Given::Named(entries) = &self.given {
            let untaken = entries
                .iter()
                .filter(|(_, value)| value.is_some())
                .map(|(key, _)| key.as_ref());
            if let Some(sent) = crate::protocol::suggest::closest(name, untaken) {
                return ErrorObject::invalid_params(format!(
                    "unexpected parameter `{sent}`; did you mean `{name}`?"
                ));
            }
        }
        ErrorObject::invalid_params(format!("missing parameter `{name}`"))
    }

    /// Checks that nothing was left over.
    ///
    /// # Errors
    ///
    /// -32602 when more positional params were sent than declared, or a named
    /// param that no parameter has.
    pub fn finish(self) -> Result<(), ErrorObject> {
        match self.given {
            Given::Positional(list) if list.len() > self.taken => {
                Err(ErrorObject::invalid_params(format!(
                    "expected at most {} parameters, got {}",
                    self.taken,
                    list.len()
                )))
            }
            Given::Nothing | Given::Positional(_) => Ok(()),
            Given::Named(entries) => match entries.iter().find(|(_, value)| value.is_some()) {
                Some((name, _)) => {
                    let absent = self.absent.iter().map(String::as_str);
                    let message = match crate::protocol::suggest::closest(name, absent) {
                        Some(meant) => {
                            format!("unexpected parameter `{name}`; did you mean `{meant}`?")
                        }
                        None => format!("unexpected parameter `{name}`"),
                    };
                    Err(ErrorObject::invalid_params(message))
                }
                None => Ok(()),
            },
        }
    }
}

/// serde's message without "at line 1 column 3": the caller sent one value,
/// not lines of text.
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    match text.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// The members of a params object in order, keys borrowed when unescaped.
struct NamedEntries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl NamedEntries<'_> {
    fn duplicate(&self) -> Option<&str> {
        let entries = &self.0;
        entries
            .iter()
            .enumerate()
            .find(|(i, (key, _))| entries[..*i].iter().any(|(other, _)| other == key))
            .map(|(_, (key, _))| key.as_ref())
    }
}

impl<'de> Deserialize<'de> for NamedEntries<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = NamedEntries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of named parameters")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push((key, value));
                }
                Ok(NamedEntries(entries))
            }
        }
        de.deserialize_map(EntriesVisitor)
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a parameter name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        de.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    fn read_pair(text: Option<&str>) -> Result<(i64, Option<String>), ErrorObject> {
        let raw = text.map(raw);
        let mut reader = Params::new(raw.as_deref()).reader()?;
        let a = reader.next("a")?;
        let b = reader.next("b")?;
        reader.finish()?;
        Ok((a, b))
    }

    #[test]
    fn by_position_and_by_name() {
        assert_eq!(
            read_pair(Some(r#"[1,"x"]"#)).unwrap(),
            (1, Some("x".into()))
        );
        assert_eq!(
            read_pair(Some(r#"{"b":"x","a":1}"#)).unwrap(),
            (1, Some("x".into()))
        );
        assert_eq!(read_pair(Some(r#"{"\u0061":1}"#)).unwrap(), (1, None));
    }

    #[test]
    fn trailing_options_may_be_left_out() {
        assert_eq!(read_pair(Some("[5]")).unwrap(), (5, None));
        assert_eq!(read_pair(Some(r#"{"a":5}"#)).unwrap(), (5, None));
    }

    #[test]
    fn errors_name_the_parameter() {
        let message = |text| read_pair(text).unwrap_err().message;
        assert!(message(None).contains("missing parameter `a`"));
        assert!(message(Some(r#"["1"]"#)).contains("parameter `a`"));
        assert!(message(Some("[1,2]")).contains("parameter `b`"));
        assert!(message(Some(r#"[1,"x",3]"#)).contains("at most 2"));
        assert!(message(Some(r#"{"a":1,"c":2}"#)).contains("unexpected parameter `c`"));
        assert_eq!(
            message(Some(r#"{"a":1,"bb":2}"#)),
            "Invalid params: unexpected parameter `bb`; did you mean `b`?"
        );
        let wrong_type = message(Some(r#"{"a":"one","b":2}"#));
        assert!(wrong_type.contains("parameter `a`"), "{wrong_type}");
        assert!(!wrong_type.contains("line"), "{wrong_type}");
        assert!(message(Some(r#"{"a":1,"a":2}"#)).contains("`a` is given twice"));
    }

    #[test]
    fn emptiness() {
        assert!(Params::new(None).is_empty());
        assert!(Params::new(Some(&raw("[ ]"))).is_empty());
        assert!(!Params::new(Some(&raw("[0]"))).is_empty());
    }
}
