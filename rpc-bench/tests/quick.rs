//! Runs the benchmark's small version so the harness cannot rot. Nothing
//! about timing is asserted: only that every scenario ran and reported.

#[test]
fn quick_run_reports_every_scenario() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rpc-bench"))
        .args(["all", "--quick"])
        .output()
        .expect("the benchmark runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for scenario in [
        "seq",
        "concurrent",
        "multi-conn",
        "batch",
        "subscription",
        "fan-out",
        "idle-small",
        "idle-large",
        "connect",
        "seq-client",
        "concurrent-client",
        "subscription-client",
        "fan-out-client",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(scenario) && l.contains("wirecall")),
            "no {scenario} line:\n{stdout}"
        );
    }
    assert!(stdout.contains("ratios"), "{stdout}");
    // The bare client saw every item of the subscription from both servers.
    let lost = stdout
        .lines()
        .filter(|l| l.starts_with("subscription ") && l.contains("silently lost 0"))
        .count();
    assert_eq!(lost, 2, "{stdout}");
}

#[test]
fn instruction_counts_cover_every_server_and_operation() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rpc-bench"))
        .args(["instructions", "--quick"])
        .output()
        .expect("the instruction count runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for operation in [
        "seq call",
        "call in a batch of 100",
        "subscription item",
        "fan-out delivery",
    ] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(operation))
            .unwrap_or_else(|| panic!("no {operation} row:\n{stdout}"));
        // wirecall's and jsonrpsee's counts are numbers, never a dash.
        let cells: Vec<&str> = row[operation.len()..].split_whitespace().collect();
        assert!(
            cells[1].parse::<f64>().is_ok() && cells[2].parse::<f64>().is_ok(),
            "{row}"
        );
    }
}

#[test]
fn a_short_soak_holds_its_invariants() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rpc-bench"))
        .args(["soak", "--minutes", "0.1", "--clients", "4"])
        .output()
        .expect("the soak runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("0 broken invariants"), "{stdout}");
}

#[test]
fn a_small_reconnect_run_loses_nothing() {
    for extra in [None, Some("--lose-history")] {
        let mut args = vec!["reconnect", "--clients", "40"];
        args.extend(extra);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_rpc-bench"))
            .args(&args)
            .output()
            .expect("the reconnect run runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let told = if extra.is_some() {
            "40 streams told"
        } else {
            "0 streams told"
        };
        assert!(
            stdout.contains("0 reported lost") && stdout.contains(told),
            "{stdout}"
        );
        assert!(stdout.contains("every item in order"), "{stdout}");
    }
}

#[test]
fn a_small_cluster_fanout_delivers_every_item_in_order() {
    let installed = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server must be installed under CI (.ci/run installs it)"
        );
        println!("skipped: redis-server is not installed (apt-get install redis-server)");
        return;
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rpc-bench"))
        .args(["cluster-fanout", "--subscriptions", "200"])
        .output()
        .expect("the cluster fan-out runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.matches("0 out of order").count(), 3, "{stdout}");
    assert!(stdout.contains("ratio"), "{stdout}");
}
