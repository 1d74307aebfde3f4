//! The hygiene crate's generated router answers like any other.

#[tokio::test]
async fn generated_code_works_under_a_renamed_crate() {
    let router = rpc_hygiene::router();
    let reply = router
        .handle(r#"{"jsonrpc":"2.0","method":"h_echo","params":["a","b"],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(reply, r#"{"jsonrpc":"2.0","id":1,"result":"ab"}"#);
    let reply = router
        .handle(r#"{"jsonrpc":"2.0","method":"h_say","params":{"text":"c"},"id":2}"#)
        .await
        .unwrap();
    assert_eq!(reply, r#"{"jsonrpc":"2.0","id":2,"result":"c"}"#);
    let reply = router
        .handle(r#"{"jsonrpc":"2.0","method":"h_add","params":{"a":1,"b":2},"id":3}"#)
        .await
        .unwrap();
    assert_eq!(reply, r#"{"jsonrpc":"2.0","id":3,"result":3}"#);
    let mut names: Vec<&str> = router.method_names().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "h_add",
            "h_count",
            "h_echo",
            "h_fail",
            "h_note",
            "h_say",
            "h_uncount",
            "rpc.discover"
        ]
    );
    // The document names every method, the subscription's end included.
    let document = rpc_hygiene::hygiene_openrpc();
    let described: Vec<&str> = document.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        described,
        [
            "h_echo",
            "h_say",
            "h_add",
            "h_fail",
            "h_note",
            "h_count",
            "h_uncount"
        ]
    );
    // The derived error of every shape, as its error object.
    for (which, error) in [
        (0, r#"{"code":1,"message":"unit"}"#),
        (1, r#"{"code":2,"message":"named","data":{"why":""}}"#),
        (2, r#"{"code":-3,"message":"one","data":2}"#),
        (3, r#"{"code":4,"message":"two","data":[3,null]}"#),
    ] {
        let call = format!(r#"{{"jsonrpc":"2.0","method":"h_fail","params":[{which}],"id":4}}"#);
        let reply = router.handle(&call).await.unwrap();
        assert_eq!(
            reply,
            format!(r#"{{"jsonrpc":"2.0","id":4,"error":{error}}}"#)
        );
    }
}
