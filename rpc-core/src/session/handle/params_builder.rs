//! Builds call params one value at a time, for generated clients.

use serde::Serialize;
use serde_json::value::RawValue;

use super::peer::Peer;
use crate::protocol::push_json_string;
use crate::session::CallError;

/// Writes params as a JSON array (by position) or object (by name), one
/// serialized value at a time, without an intermediate `Value`.
///
/// # Examples
///
/// ```
/// use wirecall::ParamsBuilder;
///
/// let mut params = ParamsBuilder::named();
/// params.push("a", &1).unwrap();
/// params.push("b", "two").unwrap();
/// assert_eq!(params.finish().unwrap().get(), r#"{"a":1,"b":"two"}"#);
/// ```
#[derive(Debug)]
pub struct ParamsBuilder {
    out: String,
    named: bool,
    count: usize,
}

impl ParamsBuilder {
    /// Params sent as an array.
    pub fn positional() -> ParamsBuilder {
        ParamsBuilder {
            out: String::from("["),
            named: false,
            count: 0,
        }
    }

    /// Params sent as an object keyed by parameter name.
    pub fn named() -> ParamsBuilder {
        ParamsBuilder {
            out: String::from("{"),
            named: true,
            count: 0,
        }
    }

    /// Appends one parameter.
    ///
    /// # Errors
    ///
    /// [`CallError::Encode`] when the value does not serialize.
    pub fn push<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), CallError> {
        let json = serde_json::to_string(value).map_err(CallError::Encode)?;
        if self.count > 0 {
            self.out.push(',');
        }
        if self.named {
            push_json_string(&mut self.out, name);
            self.out.push(':');
        }
        self.out.push_str(&json);
        self.count += 1;
        Ok(())
    }

    /// The finished params; `None` when there are none.
    ///
    /// # Panics
    ///
    /// Never: the text is valid JSON by construction.
    pub fn finish(mut self) -> Option<Box<RawValue>> {
        if self.count == 0 {
            return None;
        }
        self.out.push(if self.named { '}' } else { ']' });
        Some(RawValue::from_string(self.out).expect("params are valid JSON"))
    }
}

/// Something that reaches a live connection: a [`Peer`], or a client
/// that wraps one. Generated clients work over any of them.
pub trait AsPeer {
    /// The connection handle.
    fn as_peer(&self) -> &Peer;
}

impl AsPeer for Peer {
    fn as_peer(&self) -> &Peer {
        self
    }
}

impl<T: AsPeer + ?Sized> AsPeer for &T {
    fn as_peer(&self) -> &Peer {
        (**self).as_peer()
    }
}

impl<T: AsPeer + ?Sized> AsPeer for std::sync::Arc<T> {
    fn as_peer(&self) -> &Peer {
        (**self).as_peer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_and_empty() {
        let mut params = ParamsBuilder::positional();
        params.push("a", &[1, 2]).unwrap();
        params.push("b", &Option::<u8>::None).unwrap();
        assert_eq!(params.finish().unwrap().get(), "[[1,2],null]");
        assert!(ParamsBuilder::named().finish().is_none());
    }
}
