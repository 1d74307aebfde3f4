//! The chat page in a real browser: two headless Chromium sessions, driven
//! over WebDriver, join one room; one sends a message and the other shows it.
//! Then the server restarts and both pages come back by themselves. A
//! second test runs the chat as two nodes sharing rooms through Redis, with
//! one page on each, and kills a node mid-chat.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them the test
//! prints a one-line "skipped" notice, except under CI (`CI=true`), where a
//! missing browser is a failure. Set `WIRECALL_SCREENSHOT=path.png` to save
//! what the first browser shows at the end.

#[path = "common/process.rs"]
mod process;
#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/redis.rs"]
mod redis;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use process::Running;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Starts chromedriver; the returned child is killed (and the browsers with
/// it) when dropped.
async fn start_driver() -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, format!("http://127.0.0.1:{port}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

async fn open_browser(driver: &str, profile: &Path) -> Browser {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1100,720",
    ];
    let mut args: Vec<String> = args.iter().map(ToString::to_string).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": CHROMIUM, "args": args }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver)
        .await
        .expect("a browser session")
}

/// Opens the chat page and waits until its socket is connected.
async fn open_chat(browser: &Browser, url: &str) {
    browser.goto(url).await.unwrap();
    browser
        .wait()
        .for_element(Locator::Css("#dot.on"))
        .await
        .unwrap();
}

/// Types `name` into the (empty) name field and presses Join.
async fn ask_to_join(browser: &Browser, name: &str) {
    let field = browser.find(Locator::Css("#name")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(name).await.unwrap();
    browser
        .find(Locator::Css("#joinbtn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until the page shows the room.
async fn in_room(browser: &Browser) {
    browser
        .wait()
        .for_element(Locator::Css("#room.open"))
        .await
        .unwrap();
}

async fn join(browser: &Browser, url: &str, name: &str) {
    open_chat(browser, url).await;
    ask_to_join(browser, name).await;
    in_room(browser).await;
}

/// Asks for a taken name, waits for the refusal, then joins as `name`.
async fn join_after_refusal(browser: &Browser, url: &str, taken: &str, name: &str) {
    open_chat(browser, url).await;
    ask_to_join(browser, taken).await;
    let mut refused = String::new();
    for _ in 0..100 {
        refused = browser
            .find(Locator::Css("#joinerror"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if !refused.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused.contains("taken"), "no refusal shown: {refused:?}");
    ask_to_join(browser, name).await;
    in_room(browser).await;
}

/// Types `text` into the message box and sends it.
async fn say(browser: &Browser, text: &str) {
    browser
        .find(Locator::Css("#text"))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
    browser
        .find(Locator::Css("#sendform button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// How many message bubbles show `text`.
async fn count_messages(browser: &Browser, text: &str) -> usize {
    let mut count = 0;
    for bubble in browser.find_all(Locator::Css(".msg .text")).await.unwrap() {
        if bubble.text().await.unwrap() == text {
            count += 1;
        }
    }
    count
}

/// Waits until a message bubble with `text` is on the page.
async fn shows_message(browser: &Browser, text: &str) -> bool {
    for _ in 0..100 {
        for bubble in browser.find_all(Locator::Css(".msg .text")).await.unwrap() {
            if bubble.text().await.unwrap() == text {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Waits until the connection status text contains `text`.
async fn status_becomes(browser: &Browser, text: &str) -> bool {
    for _ in 0..200 {
        let status = browser
            .find(Locator::Css("#conn"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if status.contains(text) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Waits until a note containing `text` is on the page.
async fn shows_note(browser: &Browser, text: &str) -> bool {
    for _ in 0..100 {
        for line in browser.find_all(Locator::Css(".note")).await.unwrap() {
            if line.text().await.unwrap().contains(text) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Whether Chromium and its driver are installed; fails under CI when not.
fn browser_available() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium and chromium-driver must be installed under CI (.ci/run installs them)"
    );
    println!("skipped: chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)");
    false
}

#[tokio::test]
async fn two_browsers_chat_in_one_room() {
    if !browser_available() {
        return;
    }
    let mut chat = Running::start("chat", &["--listen", "127.0.0.1:0"]);
    let url = format!("http://{}/", chat.listening_addr().await);
    let (_driver, driver_url) = start_driver().await;
    let profiles = std::env::temp_dir().join(format!("wirecall-browser-{}", std::process::id()));

    let ada = open_browser(&driver_url, &profiles.join("ada")).await;
    let bob = open_browser(&driver_url, &profiles.join("bob")).await;
    join(&ada, &url, "ada").await;
    join(&bob, &url, "bob").await;

    say(&bob, "hello from bob").await;

    assert!(
        shows_message(&ada, "hello from bob").await,
        "ada's page never showed bob's message"
    );
    let users = ada
        .find(Locator::Css("#users"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        users.contains("bob") && users.contains("ada (you)"),
        "{users}"
    );

    say(&ada, "hi bob!").await;
    assert!(
        shows_message(&bob, "hi bob!").await,
        "bob's page never showed ada's reply"
    );
    assert!(shows_message(&ada, "hi bob!").await);

    // A join refused for a taken name, then retried, listens once.
    let carol = open_browser(&driver_url, &profiles.join("carol")).await;
    join_after_refusal(&carol, &url, "ada", "carol").await;
    say(&bob, "welcome carol").await;
    assert!(shows_message(&carol, "welcome carol").await);
    // Bob's next message is the marker: once it shows, the first had its chance to double.
    say(&bob, "marker").await;
    assert!(shows_message(&carol, "marker").await);
    assert_eq!(count_messages(&carol, "welcome carol").await, 1);
    carol.close().await.unwrap();

    // The server restarts on the same address: the pages reconnect by
    // themselves, see that the room's history is gone, reload it, rejoin,
    // and chat on.
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    chat.child.kill().await.unwrap();
    chat.child.wait().await.unwrap();
    assert!(
        status_becomes(&ada, "reconnecting").await,
        "ada's page never said it was reconnecting"
    );
    let mut chat = Running::start("chat", &["--listen", &addr]);
    assert_eq!(chat.listening_addr().await, addr);
    for page in [&ada, &bob] {
        assert!(
            status_becomes(page, "connected").await,
            "a page never reconnected"
        );
        assert!(
            shows_note(page, "the server restarted").await,
            "a page did not say the room was reloaded"
        );
    }
    assert_eq!(
        count_messages(&ada, "hi bob!").await,
        0,
        "old messages were cleared"
    );
    say(&bob, "after the restart").await;
    assert!(
        shows_message(&ada, "after the restart").await,
        "ada's page never showed a message sent after the restart"
    );
    let users = ada
        .find(Locator::Css("#users"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        users.contains("bob") && users.contains("ada (you)"),
        "{users}"
    );

    if let Ok(path) = std::env::var("WIRECALL_SCREENSHOT") {
        std::fs::write(&path, ada.screenshot().await.unwrap()).unwrap();
    }
    ada.close().await.unwrap();
    bob.close().await.unwrap();
    chat.child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(profiles);
}

#[tokio::test]
async fn pages_on_two_nodes_share_a_room_and_survive_losing_one() {
    if !browser_available() || !redis::available() {
        return;
    }
    let redis = redis::RedisServer::start();
    let mut node_a = Running::start(
        "chat",
        &["--listen", "127.0.0.1:0", "--redis", &redis.url()],
    );
    let mut node_b = Running::start(
        "chat",
        &["--listen", "127.0.0.1:0", "--redis", &redis.url()],
    );
    let addr_a: std::net::SocketAddr = node_a.listening_addr().await.parse().unwrap();
    let addr_b: std::net::SocketAddr = node_b.listening_addr().await.parse().unwrap();
    // Ada reaches node A through a balancer; Bob uses node B directly.
    let balancer = proxy::Proxy::start(addr_a).await;
    let url_a = format!(
        "http://{}/",
        balancer
            .url()
            .trim_start_matches("ws://")
            .trim_end_matches('/')
    );
    let url_b = format!("http://{addr_b}/");
    let (_driver, driver_url) = start_driver().await;
    let profiles = std::env::temp_dir().join(format!("wirecall-cluster-{}", std::process::id()));
    let ada = open_browser(&driver_url, &profiles.join("ada")).await;
    let bob = open_browser(&driver_url, &profiles.join("bob")).await;
    join(&ada, &url_a, "ada").await;
    join(&bob, &url_b, "bob").await;

    say(&bob, "hello from node b").await;
    assert!(
        shows_message(&ada, "hello from node b").await,
        "ada (node A) never saw bob (node B)"
    );
    say(&ada, "hi from node a").await;
    assert!(
        shows_message(&bob, "hi from node a").await,
        "bob never saw ada"
    );

    // Node A dies; the balancer sends Ada's page to node B, where it
    // resumes the room from Redis with nothing missed.
    balancer.set_upstream(addr_b);
    node_a.child.kill().await.unwrap();
    say(&bob, "while ada was moving").await;
    assert!(
        status_becomes(&ada, "connected").await,
        "ada's page never reconnected"
    );
    assert!(
        shows_message(&ada, "while ada was moving").await,
        "a message sent while ada's page moved was lost"
    );
    say(&bob, "after the move").await;
    assert!(shows_message(&ada, "after the move").await);
    assert_eq!(
        count_messages(&ada, "hello from node b").await,
        1,
        "history was not doubled"
    );
    for note in ada.find_all(Locator::Css(".note")).await.unwrap() {
        let text = note.text().await.unwrap();
        assert!(
            !text.contains("the server restarted"),
            "the room was reloaded: {text}"
        );
    }

    ada.close().await.unwrap();
    bob.close().await.unwrap();
    node_b.child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(profiles);
}

/// The member list as the page shows it.
async fn users_shown(browser: &Browser) -> String {
    browser
        .find(Locator::Css("#users"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the member list satisfies `wanted`.
async fn users_become(browser: &Browser, wanted: impl Fn(&str) -> bool) -> bool {
    for _ in 0..200 {
        if wanted(&users_shown(browser).await) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn pages_on_two_nodes_see_each_other_and_the_leave_of_a_dead_node() {
    if !browser_available() || !redis::available() {
        return;
    }
    let redis = redis::RedisServer::start();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--redis",
        &redis.url(),
        "--presence-ttl",
        "1",
    ];
    let mut node_a = Running::start("chat", &args);
    let mut node_b = Running::start("chat", &args);
    let url_a = format!("http://{}/", node_a.listening_addr().await);
    let url_b = format!("http://{}/", node_b.listening_addr().await);
    let (_driver, driver_url) = start_driver().await;
    let profiles = std::env::temp_dir().join(format!("wirecall-presence-{}", std::process::id()));
    let ada = open_browser(&driver_url, &profiles.join("ada")).await;
    let bob = open_browser(&driver_url, &profiles.join("bob")).await;
    join(&ada, &url_a, "ada").await;
    join(&bob, &url_b, "bob").await;

    // Each page lists the other, though they are on different nodes.
    assert!(
        users_become(&bob, |users| users.contains("ada")
            && users.contains("bob (you)"))
        .await,
        "bob's page (node B) never listed ada (node A): {}",
        users_shown(&bob).await
    );
    assert!(
        users_become(&ada, |users| users.contains("bob")
            && users.contains("ada (you)"))
        .await,
        "ada's page (node A) never listed bob (node B): {}",
        users_shown(&ada).await
    );

    // Node A dies; ada's page has nowhere to go. Bob's page is told she left.
    node_a.child.kill().await.unwrap();
    assert!(
        shows_note(&bob, "ada left").await,
        "bob's page never said that ada left"
    );
    assert!(
        users_become(&bob, |users| !users.contains("ada")).await,
        "ada stayed in bob's list: {}",
        users_shown(&bob).await
    );

    ada.close().await.unwrap();
    bob.close().await.unwrap();
    node_b.child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(profiles);
}
