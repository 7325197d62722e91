//! Files as a source and an output: read under the size limit, written atomically. Every
//! IO model (blocking, async, event loop) calls these two, so their errors read the same.

use std::io::Read;
use std::path::Path;

use crate::contract::ImageError;
use crate::platform::write_atomically;

/// Reads a file, refusing one larger than `limit` before reading it all.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ImageError> {
    let io = |e: std::io::Error| ImageError::Io(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(io)?;
    // Room for the whole file at once when its size is known and allowed, instead of a
    // buffer doubled (and copied) a dozen times on the way to it.
    let size = file.metadata().map_or(0, |metadata| metadata.len());
    let mut bytes = Vec::with_capacity(size.min(limit) as usize + 1);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ImageError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Writes a thumbnail to `path` atomically (a temporary file, then a rename): a reader
/// never sees half of it.
pub fn write_thumbnail(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    write_atomically(path, bytes)
        .map_err(|e| ImageError::Io(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_over_the_limit_are_refused() {
        let dir = std::env::temp_dir().join(format!("workbench-limit-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.jpg");
        std::fs::write(&path, vec![0u8; 100]).unwrap();
        assert_eq!(
            read_limited(&path, 99),
            Err(ImageError::TooLarge { limit: 99 })
        );
        assert_eq!(read_limited(&path, 100).unwrap().len(), 100);
        let missing = dir.join("no-folder/x_32.jpg");
        let error = write_thumbnail(&missing, b"abc").unwrap_err().to_string();
        assert!(error.starts_with("cannot write "), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
