//! Table-driven conformance with the JSON-RPC 2.0 specification: every example
//! of its "Examples" section plus the edge cases around ids, members,
//! batches and nesting. Replies are compared by `id`, `result` and error
//! `code`; message texts are free.

#[path = "common/spec.rs"]
mod spec;
#[path = "../examples/spec/service.rs"]
mod spec_service;

#[path = "common/cases.rs"]
mod table;

#[path = "common/http.rs"]
mod http;

use spec_service::SpecServer;
use table::{cases, check};

use serde_json::Value;

#[tokio::test]
async fn every_case_against_the_router() {
    let router = spec::spec_router();
    let cases = cases();
    assert!(cases.len() >= 30);
    for case in &cases {
        check(case, router.handle(&case.request).await);
    }
}

#[tokio::test]
async fn every_case_against_the_macro_service() {
    let router = spec_service::SpecService.into_router();
    for case in &cases() {
        check(case, router.handle(&case.request).await);
    }
}

#[tokio::test]
async fn every_case_over_a_real_socket() {
    let server = wirecall::Server::builder()
        .build(spec_service::SpecService.into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    table::run_over_socket(&format!("ws://{}/", server.local_addr())).await;
    server.shutdown().await;
}

#[tokio::test]
async fn every_case_over_http() {
    let server = wirecall::Server::builder()
        .build(spec_service::SpecService.into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    for case in &cases() {
        let (status, body) = http::post_json(server.local_addr(), &case.request).await;
        // An answer is a 200 with it; nothing due is a 204 with nothing.
        let reply = match status {
            200 => Some(body),
            204 => {
                assert!(body.is_empty(), "{}: 204 with {body}", case.name);
                None
            }
            other => panic!("{}: HTTP {other}: {body}", case.name),
        };
        check(case, reply);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn big_numeric_ids_come_back_byte_for_byte() {
    let router = spec::spec_router();
    for id in ["18446744073709551617", "1.5", "-0", "1e400", "0.100"] {
        let request = format!(r#"{{"jsonrpc":"2.0","method":"sum","params":[1],"id":{id}}}"#);
        let reply = router.handle(&request).await.unwrap();
        assert!(reply.contains(&format!(r#""id":{id},"#)), "{reply}");
    }
}

#[tokio::test]
async fn params_errors_name_the_parameter() {
    let router = spec::spec_router();
    let reply = router
        .handle(r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1},"id":1}"#)
        .await
        .unwrap();
    assert!(reply.contains("subtrahend"), "{reply}");
    let reply = router
        .handle(r#"{"jsonrpc":"2.0","method":"subtract","params":[1,"x"],"id":1}"#)
        .await
        .unwrap();
    assert!(reply.contains("subtrahend"), "{reply}");
}

#[tokio::test]
async fn a_panic_fails_only_its_own_call() {
    let router = spec::spec_router();
    let reply = router
        .handle(r#"[{"jsonrpc":"2.0","method":"panic","id":1},{"jsonrpc":"2.0","method":"sum","params":[2],"id":2}]"#)
        .await
        .unwrap();
    let replies: Vec<Value> = serde_json::from_str(&reply).unwrap();
    assert_eq!(replies.len(), 2);
    assert!(replies
        .iter()
        .any(|r| r["id"] == 1 && r["error"]["code"] == -32603));
    assert!(replies.iter().any(|r| r["id"] == 2 && r["result"] == 2));
}
