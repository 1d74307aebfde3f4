//! What a run measures: throughput, latency percentiles, and CPU and memory
//! read from `/proc`.

use std::time::Duration;

/// The result of one workload against one server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    /// Operations completed (calls, items, deliveries, handshakes).
    pub(crate) ops: u64,
    pub(crate) elapsed: Duration,
    /// Per-operation latency, when the workload has one.
    pub(crate) latencies: Vec<Duration>,
    /// Server CPU over the workload, microseconds.
    pub(crate) server_cpu_us: u64,
    /// This process's CPU over the workload, microseconds.
    pub(crate) client_cpu_us: u64,
    /// Anything else worth a column (loss, memory per connection…).
    pub(crate) note: String,
    /// A scenario-specific figure compared in the ratios (e.g. KiB/conn).
    pub(crate) figure: Option<f64>,
    /// The server's writes over the workload, where they were counted.
    pub(crate) writes: Option<crate::writes::Writes>,
}

impl Outcome {
    pub(crate) fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn percentile_us(&mut self, p: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        self.latencies.sort_unstable();
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        Some(self.latencies[index].as_secs_f64() * 1e6)
    }

    pub(crate) fn server_us_per_op(&self) -> f64 {
        self.server_cpu_us as f64 / self.ops.max(1) as f64
    }

    pub(crate) fn client_us_per_op(&self) -> f64 {
        self.client_cpu_us as f64 / self.ops.max(1) as f64
    }
}

/// A fan-out's outcome: `got` of `total` subscriptions had the item
/// `elapsed` after the publish; all of them must have (`all_came`).
pub(crate) fn fan_out_outcome(
    got: usize,
    total: usize,
    elapsed: Duration,
    all_came: bool,
) -> Result<Outcome, String> {
    if !all_came {
        return Err(format!(
            "only {got} of {total} subscriptions had the item within 60 s"
        ));
    }
    Ok(Outcome {
        ops: got as u64,
        elapsed,
        note: format!("{got} of {total} subscriptions"),
        figure: Some(elapsed.as_secs_f64() * 1e3),
        ..Outcome::default()
    })
}

/// Clock ticks per second of `/proc/*/stat` times.
fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// User plus system CPU time of a process, in microseconds.
pub(crate) fn cpu_us(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    ticks * 1_000_000 / ticks_per_second()
}

/// Resident memory of a process, in KiB.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One server's figures for one scenario, from one run or the medians of
/// several.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub(crate) rate: f64,
    pub(crate) p50_us: Option<f64>,
    pub(crate) p99_us: Option<f64>,
    pub(crate) server_us: f64,
    pub(crate) client_us: f64,
    pub(crate) figure: Option<f64>,
    /// Socket writes per operation, bytes per socket write, and other
    /// writes (wake-ups) per operation.
    pub(crate) writes_per_op: Option<f64>,
    pub(crate) bytes_per_write: Option<f64>,
    pub(crate) wakes_per_op: Option<f64>,
    /// The note of the run with the median rate.
    pub(crate) note: String,
    pub(crate) runs: usize,
}

impl Summary {
    pub(crate) fn of(mut outcome: Outcome) -> Summary {
        Summary {
            rate: outcome.ops_per_sec(),
            p50_us: outcome.percentile_us(0.5),
            p99_us: outcome.percentile_us(0.99),
            server_us: outcome.server_us_per_op(),
            client_us: outcome.client_us_per_op(),
            figure: outcome.figure,
            writes_per_op: outcome
                .writes
                .map(|w| w.to_sockets as f64 / outcome.ops.max(1) as f64),
            bytes_per_write: outcome
                .writes
                .map(|w| w.bytes as f64 / w.to_sockets.max(1) as f64),
            wakes_per_op: outcome
                .writes
                .map(|w| w.other as f64 / outcome.ops.max(1) as f64),
            note: outcome.note,
            runs: 1,
        }
    }

    /// Each figure's median over `runs`, taken figure by figure.
    pub(crate) fn median(mut runs: Vec<Summary>) -> Summary {
        fn middle(mut values: Vec<f64>) -> Option<f64> {
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied()
        }
        let of = |pick: fn(&Summary) -> Option<f64>, runs: &[Summary]| {
            middle(runs.iter().filter_map(pick).collect())
        };
        let rate = of(|s| Some(s.rate), &runs).unwrap_or(0.0);
        let p50_us = of(|s| s.p50_us, &runs);
        let p99_us = of(|s| s.p99_us, &runs);
        let server_us = of(|s| Some(s.server_us), &runs).unwrap_or(0.0);
        let client_us = of(|s| Some(s.client_us), &runs).unwrap_or(0.0);
        let figure = of(|s| s.figure, &runs);
        let writes_per_op = of(|s| s.writes_per_op, &runs);
        let bytes_per_write = of(|s| s.bytes_per_write, &runs);
        let wakes_per_op = of(|s| s.wakes_per_op, &runs);
        let count = runs.len();
        runs.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        let note = runs.swap_remove(count / 2).note;
        Summary {
            rate,
            p50_us,
            p99_us,
            server_us,
            client_us,
            figure,
            writes_per_op,
            bytes_per_write,
            wakes_per_op,
            note,
            runs: count,
        }
    }
}
