//! The machine the numbers come from, and the versions of the crates they depend on.

use crate::platform::{machine_memory_gib, processor_model};

/// The machine the numbers come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// Cores available to this process.
    pub cores: usize,
    /// The processor's model name.
    pub model: String,
    /// The operating system and architecture.
    pub os: String,
    /// Installed memory in GiB (0 when unknown).
    pub memory_gib: f64,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            model: processor_model().unwrap_or_else(|| "unknown".to_string()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            memory_gib: machine_memory_gib().unwrap_or(0.0),
        }
    }
}

/// The versions of the crates whose speed the numbers depend on, from `Cargo.lock`.
pub fn crate_versions() -> Vec<(String, String)> {
    const WATCHED: [&str; 10] = [
        "crossbeam-channel",
        "rayon",
        "tokio",
        "ureq",
        "hyper",
        "jpeg-decoder",
        "jpeg-encoder",
        "image",
        "fast_image_resize",
        "criterion",
    ];
    let lock = include_str!("../../Cargo.lock");
    let mut versions = Vec::new();
    for package in lock.split("[[package]]") {
        let field = |key: &str| {
            package.lines().find_map(|line| {
                let value = line.strip_prefix(key)?.trim().strip_prefix('=')?.trim();
                Some(value.trim_matches('"').to_string())
            })
        };
        if let (Some(name), Some(version)) = (field("name "), field("version "))
            && WATCHED.contains(&name.as_str())
        {
            versions.push((name, version));
        }
    }
    versions.sort();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_versions_come_from_the_lock_file() {
        let versions = crate_versions();
        assert!(versions.iter().any(|(name, _)| name == "rayon"));
    }
}
