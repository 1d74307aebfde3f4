//! Printing: one line per scenario and server, then ratios against targets.

use crate::measure::Outcome;
use crate::workloads::Kind;

pub(crate) fn line(scenario: &str, kind: Kind, outcome: &mut Outcome) {
    let p50 = outcome
        .percentile_us(0.5)
        .map_or("-".into(), |v| format!("{v:.1}"));
    let p99 = outcome
        .percentile_us(0.99)
        .map_or("-".into(), |v| format!("{v:.1}"));
    println!(
        "{scenario:<18}{:<10}{:>12.0} ops/s  p50 {p50:>8} µs  p99 {p99:>8} µs  server {:>7.2} µs/op  client {:>7.2} µs/op  {}",
        kind.name(),
        outcome.ops_per_sec(),
        outcome.server_us_per_op(),
        outcome.client_us_per_op(),
        outcome.note
    );
}

fn find<'a>(
    results: &'a mut [(String, Kind, Outcome)],
    scenario: &str,
    kind: Kind,
) -> Option<&'a mut Outcome> {
    results
        .iter_mut()
        .find(|(s, k, _)| s == scenario && *k == kind)
        .map(|(_, _, o)| o)
}

fn check(name: &str, value: f64, target: &str, met: bool) {
    let verdict = if met { "met" } else { "MISSED" };
    println!("  {name:<58} {value:>7.2}×   target {target:<8} {verdict}");
}

/// Ratios of wirecall against the floor and the incumbent.
#[allow(clippy::too_many_lines)] // one check after another, in scenario order
pub(crate) fn ratios(results: &mut [(String, Kind, Outcome)]) {
    println!("\nratios (wirecall against raw echo and jsonrpsee):");
    let mut get = |scenario: &str, kind: Kind| {
        find(results, scenario, kind).map(|o| {
            let p50 = o.percentile_us(0.5).unwrap_or(f64::NAN);
            (
                o.ops_per_sec(),
                p50,
                o.server_us_per_op(),
                o.figure.unwrap_or(f64::NAN),
            )
        })
    };
    if let (Some(w), Some(r), Some(j)) = (
        get("seq", Kind::Wirecall),
        get("seq", Kind::Raw),
        get("seq", Kind::Jsonrpsee),
    ) {
        check(
            "seq: p50 latency vs raw echo",
            w.1 / r.1,
            "≤ 1.15",
            w.1 / r.1 <= 1.15,
        );
        check(
            "seq: calls/s vs jsonrpsee",
            w.0 / j.0,
            "≥ 1.5",
            w.0 / j.0 >= 1.5,
        );
        check(
            "seq: server CPU per call vs raw echo",
            w.2 / r.2,
            "≤ 1.2",
            w.2 / r.2 <= 1.2,
        );
    }
    for scenario in ["concurrent", "multi-conn"] {
        if let (Some(w), Some(r), Some(j)) = (
            get(scenario, Kind::Wirecall),
            get(scenario, Kind::Raw),
            get(scenario, Kind::Jsonrpsee),
        ) {
            check(
                &format!("{scenario}: calls/s vs raw pipelined echo"),
                w.0 / r.0,
                "≥ 1.0",
                w.0 / r.0 >= 1.0,
            );
            check(
                &format!("{scenario}: calls/s vs jsonrpsee"),
                w.0 / j.0,
                "≥ 1.3",
                w.0 / j.0 >= 1.3,
            );
        }
    }
    for scenario in ["seq-client", "concurrent-client"] {
        if let (Some(w), Some(j)) = (
            get(scenario, Kind::Wirecall),
            get(scenario, Kind::Jsonrpsee),
        ) {
            check(
                &format!("{scenario}: calls/s vs jsonrpsee, both own clients"),
                w.0 / j.0,
                "-",
                true,
            );
        }
    }
    if let (Some(w), Some(j)) = (get("batch", Kind::Wirecall), get("batch", Kind::Jsonrpsee)) {
        check(
            "batch: calls/s vs jsonrpsee",
            w.0 / j.0,
            "≥ 1.3",
            w.0 / j.0 >= 1.3,
        );
    }
    if let (Some(w), Some(j)) = (
        get("subscription", Kind::Wirecall),
        get("subscription", Kind::Jsonrpsee),
    ) {
        check(
            "subscription: items/s vs jsonrpsee",
            w.0 / j.0,
            "≥ 1.5",
            w.0 / j.0 >= 1.5,
        );
        println!(
            "  subscription: wirecall silently lost {} items (target 0); jsonrpsee lost {}",
            w.3, j.3
        );
    }
    if let (Some(w), Some(j)) = (
        get("fan-out", Kind::Wirecall),
        get("fan-out", Kind::Jsonrpsee),
    ) {
        check(
            "fan-out: time to reach every subscriber vs jsonrpsee",
            w.3 / j.3,
            "-",
            true,
        );
    }
    for scenario in ["idle-small", "idle-large"] {
        if let (Some(w), Some(j)) = (
            get(scenario, Kind::Wirecall),
            get(scenario, Kind::Jsonrpsee),
        ) {
            check(
                &format!("{scenario}: memory per idle connection vs jsonrpsee"),
                w.3 / j.3,
                "≤ 0.4",
                w.3 / j.3 <= 0.4,
            );
            println!(
                "  {scenario}: wirecall {:.1} KiB/conn (target ≤ 8 at 50 000)",
                w.3
            );
        }
    }
    if let (Some(w), Some(r), Some(j)) = (
        get("connect", Kind::Wirecall),
        get("connect", Kind::Raw),
        get("connect", Kind::Jsonrpsee),
    ) {
        check("connect: handshakes/s vs raw", w.0 / r.0, "-", true);
        check("connect: handshakes/s vs jsonrpsee", w.0 / j.0, "-", true);
    }
}
