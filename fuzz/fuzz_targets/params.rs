//! Typed params decoding: any JSON value as params decodes or gives -32602,
//! never a panic, by position, by name, and as one value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use wirecall::{ErrorCode, Params};

fuzz_target!(|json: String| {
    let Ok(raw) = RawValue::from_string(json) else { return };
    let params = Params::new(Some(&raw));
    let read = || -> Result<(), wirecall::ErrorObject> {
        let mut reader = params.reader()?;
        let _: i64 = reader.next("a")?;
        let _: Option<String> = reader.next("b")?;
        let _: Vec<(u8, bool)> = reader.next("c")?;
        let _: Option<std::collections::HashMap<String, f64>> = reader.next("d")?;
        reader.finish()
    };
    if let Err(error) = read() {
        assert_eq!(error.code, ErrorCode::InvalidParams, "{error:?}");
    }
    if let Err(error) = params.parse::<(u64, String, Option<Vec<i8>>)>() {
        assert_eq!(error.code, ErrorCode::InvalidParams, "{error:?}");
    }
});
