//! `rpc-bench wasm-size`: the same minimal browser app (one call, one
//! subscription) on wirecall's client and on jsonrpsee's wasm client
//! (`rpc-bench/wasm-size/`), built for `wasm32-unknown-unknown` in release
//! and weighed as built, after `wasm-bindgen --target web`, and gzipped.
//! Needs the wasm32 target and wasm-bindgen-cli.

use std::path::{Path, PathBuf};
use std::process::Command;

const APPS: [(&str, &str); 2] = [
    ("wirecall", "wasm-size-wirecall"),
    ("jsonrpsee", "wasm-size-jsonrpsee"),
];

pub(crate) fn run() -> Result<(), String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    let mut build = Command::new(env!("CARGO"));
    build.current_dir(&workspace).args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    for (_, package) in APPS {
        build.args(["-p", package]);
    }
    let status = build.status().map_err(|err| format!("cargo: {err}"))?;
    if !status.success() {
        return Err("the wasm build failed (rustup target add wasm32-unknown-unknown?)".into());
    }
    let out = std::env::temp_dir().join(format!("rpc-bench-wasm-size-{}", std::process::id()));
    println!(
        "{:<10} {:>12} {:>16} {:>12}",
        "client", "built B", "wasm-bindgen B", "gzip -9 B"
    );
    let mut sizes = Vec::new();
    for (name, package) in APPS {
        let file = package.replace('-', "_");
        let raw = target
            .join("wasm32-unknown-unknown/release")
            .join(format!("{file}.wasm"));
        let raw_size = size(&raw)?;
        let dir = out.join(name);
        let bound = Command::new("wasm-bindgen")
            .args(["--target", "web", "--out-dir"])
            .arg(&dir)
            .arg(&raw)
            .status()
            .map_err(|err| format!("wasm-bindgen (cargo install wasm-bindgen-cli): {err}"))?;
        if !bound.success() {
            return Err("wasm-bindgen failed".into());
        }
        let bound = dir.join(format!("{file}_bg.wasm"));
        let bound_size = size(&bound)?;
        let gzipped = Command::new("gzip")
            .args(["-9", "-c"])
            .arg(&bound)
            .output()
            .map_err(|err| format!("gzip: {err}"))?
            .stdout
            .len() as u64;
        println!("{name:<10} {raw_size:>12} {bound_size:>16} {gzipped:>12}");
        sizes.push((bound_size, gzipped));
    }
    let _ = std::fs::remove_dir_all(&out);
    if let [(w, wz), (j, jz)] = sizes[..] {
        println!(
            "wirecall / jsonrpsee: {:.2}× after wasm-bindgen, {:.2}× gzipped",
            w as f64 / j as f64,
            wz as f64 / jz as f64
        );
    }
    Ok(())
}

fn size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|meta| meta.len())
        .map_err(|err| format!("{}: {err}", path.display()))
}
