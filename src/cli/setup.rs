//! Where a run reads and writes: the source and output the flags name, or the corpus
//! generated on first use and served by the embedded store.

use std::path::{Path, PathBuf};

use super::flags::Common;
use crate::contract::SetupError;
use crate::harness::corpus::{self, CorpusSpec};
use crate::harness::store::RunningStore;
use crate::harness::workload::Workload;
use crate::io::{Output, Source};

/// Where a run reads and writes, and the embedded store when one serves the corpus (it
/// stops when this is dropped).
pub struct Setup {
    /// The images' source.
    pub source: Source,
    /// The thumbnails' destination.
    pub output: Output,
    /// The embedded store, when the run started one.
    pub store: Option<RunningStore>,
}

/// Prepares the source and the output the flags describe, generating the corpus and
/// starting the embedded store when no `--source` is given.
pub fn setup(chapter: &str, common: &Common) -> Result<Setup, SetupError> {
    let out_folder = || Output::Folder(Path::new("out").join(chapter));
    let chosen_output = common
        .out
        .as_deref()
        .map(|out| Output::parse(out, &common.s3))
        .transpose()?;
    if let Some(source) = &common.source {
        return Ok(Setup {
            source: Source::parse(source, &common.s3)?,
            output: chosen_output.unwrap_or_else(out_folder),
            store: None,
        });
    }
    let workload = common.workload;
    let spec = workload.unwrap_or(Workload::Mixed).corpus(common.count);
    let corpus_dir = if common.photos {
        corpus_folder_with_photos(&spec)?
    } else {
        corpus_folder(&spec)?
    };
    if workload == Some(Workload::Cpu) {
        return Ok(Setup {
            source: Source::Folder(corpus_dir),
            output: chosen_output.unwrap_or_else(out_folder),
            store: None,
        });
    }
    let store = RunningStore::start(common.store.config(&corpus_dir))
        .map_err(|e| SetupError::Other(format!("cannot start the embedded store: {e}")))?;
    let output = match (chosen_output, workload) {
        (Some(output), _) => output,
        (None, Some(Workload::Mixed)) => Output::Http(format!("{}thumbs/{chapter}/", store.url())),
        (None, _) => out_folder(),
    };
    Ok(Setup {
        source: Source::Listing(store.url().to_string()),
        output,
        store: Some(store),
    })
}

/// The folder holding the corpus `spec`, generated on first use into the cache.
pub fn corpus_folder(spec: &CorpusSpec) -> Result<PathBuf, SetupError> {
    let root = cache_root();
    let files = corpus::cached(spec, &root).map_err(|e| {
        SetupError::Other(format!(
            "cannot prepare the corpus in {}: {e}",
            root.display()
        ))
    })?;
    files
        .first()
        .and_then(|file| file.parent())
        .map(Path::to_path_buf)
        .ok_or_else(|| SetupError::Other("the corpus is empty: --count must be at least 1".into()))
}

/// The folder holding the corpus `spec` and the real-photo samples (`--photos`).
pub fn corpus_folder_with_photos(spec: &CorpusSpec) -> Result<PathBuf, SetupError> {
    let root = cache_root();
    let files = corpus::cached_with_photos(spec, &root).map_err(|e| {
        SetupError::Other(format!(
            "cannot prepare the corpus in {}: {e}",
            root.display()
        ))
    })?;
    files
        .first()
        .and_then(|file| file.parent())
        .map(Path::to_path_buf)
        .ok_or_else(|| SetupError::Other("the corpus is empty".into()))
}

/// Where generated corpora are cached: `$WORKBENCH_CACHE`, else `corpus/` in the cargo
/// target folder the running binary was built into, else the system's temporary folder.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("WORKBENCH_CACHE") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("corpus"))
        .unwrap_or_else(|| std::env::temp_dir().join("thumbnail-workbench-corpus"))
}
