//! The upgrade checks: any request head that parses as HTTP gets either a
//! 101 or a refusal with a status of 400-499, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirecall::server::http;
use wirecall::{Router, Server};

fuzz_target!(|head: &[u8]| {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(parsed.parse(head), Ok(httparse::Status::Complete(_))) {
        return;
    }
    let mut request = http::Request::builder()
        .method(parsed.method.unwrap_or("GET"))
        .uri(parsed.path.unwrap_or("/"));
    for header in parsed.headers.iter() {
        request = request.header(header.name, header.value);
    }
    let Ok(request) = request.body(()) else { return };
    let server = Server::builder().path("/rpc").build(Router::new());
    match server.accept_upgrade(&request, None) {
        Ok((response, _)) => assert_eq!(response.status(), 101),
        Err(rejection) => {
            assert!((400..500).contains(&rejection.status()), "{rejection:?}");
            let response = rejection.to_response();
            assert_eq!(response.status().as_u16(), rejection.status());
        }
    }
});
