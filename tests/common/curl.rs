//! Whether `curl` can be run: the HTTP tests speak to servers with it.
//! Under CI (`CI=true`) a missing curl is a failure (.ci/run installs it).

pub(crate) fn available() -> bool {
    let found = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "curl must be installed under CI (.ci/run installs it)"
        );
        println!("skipped: curl is not installed");
    }
    found
}
