//! Printing: one line per scenario and server, the servers compared with one
//! bare client apart from each library's own client, then the ratios
//! against the targets.

use crate::measure::Summary;
use crate::servers::Kind;

type Results<'a> = [(&'a str, Kind, Summary)];

fn line(scenario: &str, kind: Kind, summary: &Summary) {
    let us = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
    let writes = match (
        summary.writes_per_op,
        summary.bytes_per_write,
        summary.wakes_per_op,
    ) {
        (Some(per_op), Some(bytes), Some(wakes)) => {
            format!("writes {per_op:>6.3}/op × {bytes:>7.0} B  wakes {wakes:>6.3}/op  ")
        }
        _ => String::new(),
    };
    println!(
        "{scenario:<20}{:<10}{:>12.0} ops/s  p50 {:>8} µs  p99 {:>8} µs  server {:>7.2} µs/op  client {:>7.2} µs/op  {writes}{}",
        kind.name(),
        summary.rate,
        us(summary.p50_us),
        us(summary.p99_us),
        summary.server_us,
        summary.client_us,
        summary.note
    );
}

pub(crate) fn table(results: &Results<'_>) {
    let runs = results.first().map_or(0, |(_, _, s)| s.runs);
    println!("medians of {runs} interleaved run(s); CPU from 10 ms ticks");
    println!("\nservers, one bare client for all:");
    for (scenario, kind, summary) in results.iter().filter(|(s, _, _)| !s.ends_with("-client")) {
        line(scenario, *kind, summary);
    }
    println!("\neach library's own client, end to end:");
    for (scenario, kind, summary) in results.iter().filter(|(s, _, _)| s.ends_with("-client")) {
        line(scenario, *kind, summary);
    }
}

fn get<'a>(results: &'a Results<'_>, scenario: &str, kind: Kind) -> Option<&'a Summary> {
    results
        .iter()
        .find(|(s, k, _)| *s == scenario && *k == kind)
        .map(|(_, _, summary)| summary)
}

/// Prints one ratio; `target` is `(at most?, bound)` or none.
fn check(name: &str, value: f64, target: Option<(bool, f64)>) {
    let (target, verdict) = match target {
        Some((true, bound)) => (
            format!("≤ {bound}"),
            if value <= bound { "met" } else { "MISSED" },
        ),
        Some((false, bound)) => (
            format!("≥ {bound}"),
            if value >= bound { "met" } else { "MISSED" },
        ),
        None => ("-".into(), ""),
    };
    println!("  {name:<62} {value:>7.2}×   target {target:<7} {verdict}");
}

/// Ratios of wirecall against the floor and the incumbent.
pub(crate) fn ratios(results: &Results<'_>) {
    use Kind::{Jsonrpsee, Raw, Wirecall};
    println!("\nratios (wirecall against the raw echo and jsonrpsee):");
    let pair = |scenario: &str, other: Kind| {
        Some((
            get(results, scenario, Wirecall)?,
            get(results, scenario, other)?,
        ))
    };
    if let Some((w, r)) = pair("seq", Raw) {
        check(
            "seq: p50 latency vs raw echo",
            w.p50_us.unwrap_or(f64::NAN) / r.p50_us.unwrap_or(f64::NAN),
            None,
        );
    }
    if let Some((w, j)) = pair("seq", Jsonrpsee) {
        check("seq: calls/s vs jsonrpsee", w.rate / j.rate, None);
    }
    for scenario in ["concurrent", "multi-conn"] {
        if let Some((w, r)) = pair(scenario, Raw) {
            let target = (scenario == "concurrent").then_some((false, 1.0));
            check(
                &format!("{scenario}: calls/s vs raw pipelined echo"),
                w.rate / r.rate,
                target,
            );
        }
        if let Some((w, j)) = pair(scenario, Jsonrpsee) {
            check(
                &format!("{scenario}: calls/s vs jsonrpsee"),
                w.rate / j.rate,
                None,
            );
        }
    }
    for scenario in ["batch", "http-seq", "http-multi-conn", "http-batch"] {
        if let Some((w, j)) = pair(scenario, Jsonrpsee) {
            check(
                &format!("{scenario}: calls/s vs jsonrpsee"),
                w.rate / j.rate,
                None,
            );
        }
    }
    if let Some((w, j)) = pair("subscription", Jsonrpsee) {
        check(
            "subscription: items/s vs jsonrpsee",
            w.rate / j.rate,
            Some((false, 2.5)),
        );
    }
    if let Some((w, j)) = pair("fan-out", Jsonrpsee) {
        let (w, j) = (w.figure.unwrap_or(f64::NAN), j.figure.unwrap_or(f64::NAN));
        check(
            "fan-out: time to reach every subscription vs jsonrpsee",
            w / j,
            Some((true, 0.5)),
        );
    }
    for scenario in ["idle-small", "idle-large"] {
        if let Some((w, r)) = pair(scenario, Raw) {
            let (w, r) = (w.figure.unwrap_or(f64::NAN), r.figure.unwrap_or(f64::NAN));
            check(
                &format!("{scenario}: memory per idle connection vs raw echo"),
                w / r,
                None,
            );
            println!("  {scenario}: wirecall {w:.1} KiB/conn, echo {r:.1} (target ≤ 7.0 KiB)");
        }
    }
    if let Some((w, j)) = pair("connect", Jsonrpsee) {
        check("connect: handshakes/s vs jsonrpsee", w.rate / j.rate, None);
    }
    for scenario in ["seq-client", "concurrent-client", "subscription-client"] {
        if let Some((w, j)) = pair(scenario, Jsonrpsee) {
            check(
                &format!("{scenario}: rate vs jsonrpsee, each its own client"),
                w.rate / j.rate,
                None,
            );
        }
    }
    if let Some((w, j)) = pair("fan-out-client", Jsonrpsee) {
        let (w, j) = (w.figure.unwrap_or(f64::NAN), j.figure.unwrap_or(f64::NAN));
        check(
            "fan-out-client: time vs jsonrpsee, each its own client",
            w / j,
            None,
        );
    }
}
