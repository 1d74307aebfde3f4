//! How a server writes: system calls that write to its sockets, the bytes
//! each carries, and its other writes (mostly eventfd wake-ups of parked
//! threads). A small library (`count.c`) loaded into each server with
//! `LD_PRELOAD` adds them up in a file the benchmark maps too, so they are
//! read before and after a scenario without tracing the server (strace
//! stops it on every call, which changes how its writes coalesce).
//! Built once per run with the system's C compiler; without one the
//! columns are left out and the run says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A server's writes over a span of a run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Writes {
    pub(crate) to_sockets: u64,
    pub(crate) bytes: u64,
    pub(crate) other: u64,
}

impl Writes {
    pub(crate) fn since(self, before: Writes) -> Writes {
        Writes {
            to_sockets: self.to_sockets.saturating_sub(before.to_sockets),
            bytes: self.bytes.saturating_sub(before.bytes),
            other: self.other.saturating_sub(before.other),
        }
    }
}

/// The counting library, built on first use; `None` when it cannot be.
fn library() -> Option<&'static Path> {
    static LIBRARY: OnceLock<Option<PathBuf>> = OnceLock::new();
    LIBRARY
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("rpc-bench-writes-{}", std::process::id()));
            let built = build(&dir);
            if let Err(why) = &built {
                println!("note: write counts left out ({why})");
            }
            built.ok()
        })
        .as_deref()
}

fn build(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let source = dir.join("count.c");
    std::fs::write(&source, include_str!("count.c")).map_err(|e| e.to_string())?;
    let library = dir.join("count.so");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&compiler)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .status()
        .map_err(|e| format!("{compiler}: {e}"))?;
    if !status.success() {
        return Err(format!("{compiler} failed: {status}"));
    }
    Ok(library)
}

/// The file one server's counts live in; removed when dropped.
#[derive(Debug)]
pub(crate) struct CountFile(PathBuf);

impl CountFile {
    /// A zeroed count file, and the environment that makes a child count
    /// into it; `None` without the library.
    pub(crate) fn new() -> Option<(CountFile, [(&'static str, PathBuf); 2])> {
        static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let library = library()?;
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = library.with_file_name(format!("counts-{n}"));
        std::fs::write(&path, [0u8; 24]).ok()?;
        let env = [
            ("LD_PRELOAD", library.to_path_buf()),
            ("WRITE_COUNT_FILE", path.clone()),
        ];
        Some((CountFile(path), env))
    }

    /// The counts so far.
    pub(crate) fn read(&self) -> Writes {
        let Ok(bytes) = std::fs::read(&self.0) else {
            return Writes::default();
        };
        let word = |i: usize| {
            bytes
                .get(i * 8..i * 8 + 8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_ne_bytes)
        };
        Writes {
            to_sockets: word(0),
            bytes: word(1),
            other: word(2),
        }
    }
}

impl Drop for CountFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
