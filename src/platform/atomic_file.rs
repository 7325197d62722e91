//! The one way the workbench writes a file: never half of it, and never through a link
//! that someone else planted.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How many fresh names to try before giving up: each one is random, so a second
/// collision means someone is guessing them, and the write should fail, not loop.
const NAME_ATTEMPTS: usize = 8;

// ANCHOR: write_atomically
/// Writes `bytes` to a hidden temporary file beside `path`, then renames it to `path`.
/// A rename within one folder is atomic: a reader sees the old file or the whole new one,
/// and a crashed program leaves at worst a hidden temporary file, never a half-written one.
///
/// The output folder may be shared with people who could plant a symbolic link at the
/// temporary name and have our bytes land in any file we can write. So the temporary
/// file is made only if nothing is at its name (`create_new`, that is `O_EXCL`), never
/// through a link (`O_NOFOLLOW`), under a name nobody can predict. The final `rename`
/// replaces a link at `path` itself rather than writing through it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (temp, mut file) = create_temporary_beside(path)?;
    // No fsync: a thumbnail can be made again, and syncing each one would make the
    // disk, not the pattern, what the `cpu` workload measures.
    let result = file.write_all(bytes).and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}
// ANCHOR_END: write_atomically

/// Checks that `folder` takes files the way [`write_atomically`] makes them, by making
/// one hidden temporary file there and removing it: a run can then refuse a folder it
/// could not write to before doing any work, rather than fail every image at the end.
pub fn check_writable(folder: &Path) -> io::Result<()> {
    let (temp, _file) = create_temporary_beside(&folder.join("write-check"))?;
    fs::remove_file(temp)
}

/// Creates a new, empty, hidden file in `path`'s folder, under a fresh random name.
fn create_temporary_beside(path: &Path) -> io::Result<(PathBuf, File)> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut last_error = None;
    for _ in 0..NAME_ATTEMPTS {
        let temp = path.with_file_name(format!(".{name}.{:016x}.tmp", unpredictable()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// A number nobody else can guess. std seeds each `RandomState` from the operating
/// system's random source (the same keys that protect a `HashMap` from chosen-key
/// attacks), so hashing nothing with a fresh one gives 64 unpredictable bits without a
/// dependency.
fn unpredictable() -> u64 {
    RandomState::new().hash_one(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_only_the_final_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomically(&dir.path().join("x_32.jpg"), b"abc").unwrap();
        write_atomically(&dir.path().join("x_32.jpg"), b"defg").unwrap();
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["x_32.jpg"]);
        assert_eq!(fs::read(dir.path().join("x_32.jpg")).unwrap(), b"defg");
        assert!(write_atomically(&dir.path().join("missing-folder/x.jpg"), b"abc").is_err());
        check_writable(dir.path()).unwrap();
        assert!(
            check_writable(&dir.path().join("x_32.jpg")).is_err(),
            "a file is no folder"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "the check leaves nothing"
        );
    }

    #[test]
    fn temporary_names_differ_every_time() {
        let names: std::collections::HashSet<u64> = (0..1000).map(|_| unpredictable()).collect();
        assert_eq!(names.len(), 1000);
    }

    #[test]
    fn a_link_at_the_final_name_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, b"precious").unwrap();
        let path = dir.path().join("x_32.jpg");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_atomically(&path, b"thumbnail").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!fs::symlink_metadata(&path).unwrap().is_symlink());
        assert_eq!(fs::read(&path).unwrap(), b"thumbnail");
    }
}
