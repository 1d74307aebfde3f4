//! The JSON-RPC 2.0 specification's example methods, on a plain router.

use wirecall::{Context, ErrorObject, Params, Router};

/// `subtract`, `sum`, `get_data`, `update`, `notify_hello`, `notify_sum`, and
/// `panic` (always panics) for the conformance tables.
pub(crate) fn spec_router() -> Router {
    let mut router = Router::new();
    router
        .method("subtract", |params: Params<'_>, _: &Context| {
            let mut p = params.reader()?;
            let minuend: i64 = p.next("minuend")?;
            let subtrahend: i64 = p.next("subtrahend")?;
            p.finish()?;
            Ok(async move { Ok::<_, ErrorObject>(minuend - subtrahend) })
        })
        .unwrap()
        .method("sum", |params: Params<'_>, _: &Context| {
            let numbers: Vec<i64> = params.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(numbers.iter().sum::<i64>()) })
        })
        .unwrap()
        .method("get_data", |_: Params<'_>, _: &Context| {
            Ok(async { Ok::<_, ErrorObject>(("hello", 5)) })
        })
        .unwrap()
        .method("panic", |_: Params<'_>, _: &Context| {
            Ok(async { Ok::<u8, ErrorObject>(deliberate_panic()) })
        })
        .unwrap();
    for name in ["update", "notify_hello", "notify_sum"] {
        router
            .method(name, |_: Params<'_>, _: &Context| {
                Ok(async { Ok::<_, ErrorObject>(()) })
            })
            .unwrap();
    }
    router
}

fn deliberate_panic() -> u8 {
    std::panic::panic_any("a deliberate panic")
}
