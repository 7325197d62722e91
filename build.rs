//! Records, when the workbench is built, what the report must say about the build: the
//! compiler's version and the versions of the crates the numbers depend on.
//!
//! Both are read here, at build time, from what this very build uses: `RUSTC` is the
//! compiler cargo is about to run, and `Cargo.lock` is the resolution cargo has just
//! written for this build (cargo resolves, writes the lock file, then runs build
//! scripts). Reading them when the report is written instead would describe whatever
//! compiler and lock file are around then, not the ones the binary was made with.

use std::path::Path;
use std::process::Command;

/// The crates whose speed the figures depend on.
const WATCHED: [&str; 11] = [
    "crossbeam-channel",
    "criterion",
    "fast_image_resize",
    "hyper",
    "image",
    "jpeg-decoder",
    "jpeg-encoder",
    "mio",
    "rayon",
    "tokio",
    "ureq",
];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WORKBENCH_RUSTC_VERSION={version}");

    let lock =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("Cargo.lock");
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let mut versions = Vec::new();
    for package in text.split("[[package]]") {
        let field = |key: &str| {
            package.lines().find_map(|line| {
                let value = line.strip_prefix(key)?.trim().strip_prefix('=')?.trim();
                Some(value.trim_matches('"').to_string())
            })
        };
        if let (Some(name), Some(version)) = (field("name "), field("version "))
            && WATCHED.contains(&name.as_str())
        {
            versions.push(format!("{name} {version}"));
        }
    }
    versions.sort();
    println!(
        "cargo:rustc-env=WORKBENCH_CRATE_VERSIONS={}",
        versions.join(",")
    );
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=WORKBENCH_PROFILE={profile}");
}
