//! What this machine is: its processor and its memory.

/// The processor's model name, where the system tells it (Linux: `model name` in
/// `/proc/cpuinfo`); `None` elsewhere.
pub fn processor_model() -> Option<String> {
    // `model name\t: Intel(R) ...`: the key, tabs, a colon, the name.
    let value = super::proc_field("/proc/cpuinfo", "model name")?;
    Some(value.trim_start_matches([' ', '\t', ':']).to_string())
}

/// The machine's memory in GiB, where the system tells it (Linux: `MemTotal` in
/// `/proc/meminfo`); `None` elsewhere.
pub fn machine_memory_gib() -> Option<f64> {
    let value = super::proc_field("/proc/meminfo", "MemTotal:")?;
    let kib: f64 = value.trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn a_linux_machine_tells_its_memory() {
        let gib = machine_memory_gib().unwrap();
        assert!(gib > 0.1 && gib < 1e6, "{gib} GiB");
    }
}
