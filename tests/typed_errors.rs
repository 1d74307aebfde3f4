//! Application errors end to end: every shape of variant comes back from
//! the generated client as itself, a plain WebSocket client sees spec error
//! objects, and an error the type does not know falls back to the raw
//! object.

#[path = "common/raw.rs"]
#[allow(dead_code)] // `connect` and `ask` are used here
mod raw;
#[path = "common/server.rs"]
#[allow(dead_code)] // only `serve` is used here
mod server;

use serde_json::json;
use wirecall::{CallError, Client, Context, ErrorCode, ErrorObject, Params, Router, RpcError};

#[derive(Debug, Clone, PartialEq, RpcError)]
enum ShopError {
    /// A unit variant: no data.
    #[rpc_error(code = 4100, message = "the shop is closed")]
    Closed,
    /// Named fields: data is an object.
    #[rpc_error(code = 4101, message = "not enough stock")]
    Short { item: String, left: u32 },
    /// One unnamed field: data is the value itself.
    #[rpc_error(code = 4102, message = "no such item")]
    Unknown(String),
    /// Several unnamed fields: data is an array.
    #[rpc_error(code = -4103, message = "price changed")]
    Repriced(u64, u64),
    /// No message given: the variant's name in words.
    #[rpc_error(code = 4104)]
    OutOfRange { asked: Option<u32> },
}

#[wirecall::rpc(server, client, namespace = "shop")]
trait Shop {
    /// Fails with the error numbered `which`.
    #[method(name = "buy")]
    async fn buy(&self, which: u32) -> Result<u32, ShopError>;
}

struct Store;

impl ShopServer for Store {
    async fn buy(&self, which: u32) -> Result<u32, ShopError> {
        Err(match which {
            0 => ShopError::Closed,
            1 => ShopError::Short {
                item: "tea".into(),
                left: 2,
            },
            2 => ShopError::Unknown("coffee".into()),
            3 => ShopError::Repriced(100, 120),
            4 => ShopError::OutOfRange { asked: None },
            _ => return Ok(which),
        })
    }
}

fn all_errors() -> Vec<ShopError> {
    vec![
        ShopError::Closed,
        ShopError::Short {
            item: "tea".into(),
            left: 2,
        },
        ShopError::Unknown("coffee".into()),
        ShopError::Repriced(100, 120),
        ShopError::OutOfRange { asked: None },
    ]
}

#[tokio::test]
async fn every_variant_comes_back_typed_through_the_generated_client() {
    let (_server, url) = server::serve(Store.into_router()).await;
    let client = Client::connect(&url).await.unwrap();
    let shop = ShopClient::new(&client);
    for (which, expected) in all_errors().into_iter().enumerate() {
        let err = shop.buy(which as u32).await.unwrap_err();
        assert_eq!(err.as_app(), Some(&expected), "{err:?}");
    }
    assert_eq!(shop.buy(9).await.unwrap(), 9);
}

#[tokio::test]
async fn a_plain_client_sees_spec_error_objects() {
    let (_server, url) = server::serve(Store.into_router()).await;
    let mut socket = raw::connect(&url).await;
    let expected = [
        json!({"code": 4100, "message": "the shop is closed"}),
        json!({"code": 4101, "message": "not enough stock", "data": {"item": "tea", "left": 2}}),
        json!({"code": 4102, "message": "no such item", "data": "coffee"}),
        json!({"code": -4103, "message": "price changed", "data": [100, 120]}),
        json!({"code": 4104, "message": "out of range", "data": {"asked": null}}),
    ];
    for (which, error) in expected.iter().enumerate() {
        let call = json!({"jsonrpc": "2.0", "id": which, "method": "shop_buy", "params": [which]});
        let answer = raw::ask(&mut socket, &call).await;
        assert_eq!(
            answer,
            json!({"jsonrpc": "2.0", "id": which, "error": error}),
            "error {which}"
        );
    }
}

#[tokio::test]
async fn an_error_the_type_does_not_know_stays_raw() {
    // A server that answers `shop_buy` with error objects of its own making.
    let mut router = Router::new();
    router
        .method("shop_buy", |p: Params<'_>, _: &Context| {
            let which: u32 = p.reader()?.next("which")?;
            Ok(async move {
                Err::<u32, _>(match which {
                    // A code ShopError does not have.
                    0 => ErrorObject::new(4999, "something else"),
                    // ShopError's code, with data that does not decode.
                    1 => ErrorObject::new(4101, "not enough stock").with_data(&"lots"),
                    // A spec error.
                    _ => ErrorObject::from_code(ErrorCode::InvalidParams),
                })
            })
        })
        .unwrap();
    let (_server, url) = server::serve(router).await;
    let client = Client::connect(&url).await.unwrap();
    let shop = ShopClient::new(&client);
    for (which, code) in [(0, 4999), (1, 4101), (2, -32602)] {
        let err = shop.buy(which).await.unwrap_err();
        let CallError::Rpc(raw) = &err else {
            panic!("expected the raw object, got {err:?}")
        };
        assert_eq!(raw.code.code(), code);
    }
}

#[test]
fn every_variant_round_trips_through_its_error_object() {
    for error in all_errors() {
        let object = error.to_error_object();
        assert_eq!(ShopError::from_error_object(&object), Some(error.clone()));
        let converted: ErrorObject = error.into();
        assert_eq!(converted, object);
    }
}

/// Field names that could trip the derive: one called `data`, a raw one.
#[derive(Debug, Clone, PartialEq, RpcError)]
enum Awkward {
    #[rpc_error(code = 1, message = "awkward")]
    Fields { data: String, r#type: u8 },
}

/// No variants at all: still an error type (one that never happens).
#[derive(Debug, RpcError)]
enum Never {}

#[test]
fn awkward_field_names_keep_their_wire_names() {
    let error = Awkward::Fields {
        data: "d".into(),
        r#type: 7,
    };
    let object = error.to_error_object();
    assert_eq!(
        object.data.as_ref().unwrap().get(),
        r#"{"data":"d","type":7}"#
    );
    assert_eq!(Awkward::from_error_object(&object), Some(error));
    assert!(Never::from_error_object(&object).is_none());
}
