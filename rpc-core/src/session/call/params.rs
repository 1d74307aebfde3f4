//! Call params as they go on the wire.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::session::CallError;

/// Serializes call params: arrays and objects as they are, `()`/`null` as
/// no params, anything else wrapped in a one-element array.
pub(crate) fn to_params<P: Serialize + ?Sized>(
    params: &P,
) -> Result<Option<Box<RawValue>>, CallError> {
    let raw = serde_json::value::to_raw_value(params).map_err(CallError::Encode)?;
    match raw.get().as_bytes().first() {
        Some(b'[' | b'{') => Ok(Some(raw)),
        Some(b'n') => Ok(None),
        _ => Ok(Some(
            RawValue::from_string(format!("[{}]", raw.get())).expect("valid JSON"),
        )),
    }
}
