//! How busy the machine is, and what it runs: the load average and the kernel's version.

/// The load average over the last 1, 5 and 15 minutes: how many threads, on average,
/// were running or ready to run. Above the number of cores, threads queue for a core and
/// every timing includes that wait. From `/proc/loadavg` on Linux; `None` elsewhere.
pub fn load_average() -> Option<[f64; 3]> {
    let text = read_proc("/proc/loadavg")?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The kernel's release (`6.1.0-18-amd64`), from `/proc` on Linux; `None` elsewhere.
pub fn kernel_release() -> Option<String> {
    Some(read_proc("/proc/sys/kernel/osrelease")?.trim().to_string())
}

#[cfg(target_os = "linux")]
fn read_proc(file: &str) -> Option<String> {
    std::fs::read_to_string(file).ok()
}

/// See the Linux version: elsewhere there is no `/proc`.
#[cfg(not(target_os = "linux"))]
fn read_proc(_file: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_tells_its_load_and_kernel() {
        let [one, five, fifteen] = load_average().unwrap();
        assert!(one >= 0.0 && five >= 0.0 && fifteen >= 0.0);
        assert!(!kernel_release().unwrap().is_empty());
    }
}
