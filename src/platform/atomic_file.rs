//! The one way the workbench writes a file: never half of it.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to a hidden temporary file beside `path`, then renames it to `path`.
/// A rename within one folder is atomic: a reader sees the old file or the whole new one,
/// and a crash leaves at worst a hidden temporary file, never a half-written one.
///
/// The temporary name starts with a dot and holds the process id and a counter, so two
/// threads, or two processes, writing the same file never share a temporary file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_only_the_final_file() {
        let dir =
            std::env::temp_dir().join(format!("workbench-atomic-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        write_atomically(&dir.join("x_32.jpg"), b"abc").unwrap();
        write_atomically(&dir.join("x_32.jpg"), b"defg").unwrap();
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["x_32.jpg"]);
        assert_eq!(fs::read(dir.join("x_32.jpg")).unwrap(), b"defg");
        assert!(write_atomically(&dir.join("missing-folder/x.jpg"), b"abc").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
