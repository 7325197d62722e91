//! What `--version` prints, the same for every binary: the version, the licence, and the
//! acknowledgement the JPEG encoder's licence asks of every program built with it.

/// The workbench's version, as `-V` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The sentence the Independent JPEG Group's licence requires in the documentation of
/// any program distributed as executable code: `jpeg-encoder`, which writes every JPEG
/// thumbnail, carries a forward DCT ported from their code.
pub const IJG_NOTICE: &str =
    "This software is based in part on the work of the Independent JPEG Group.";

/// What `--version` prints after the program's name: the version, the licence and the
/// third-party notice (the NOTICE file holds them in full).
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nLicensed under ",
    env!("CARGO_PKG_LICENSE"),
    "; third-party notices in NOTICE.\n",
    "This software is based in part on the work of the Independent JPEG Group.",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_version_carries_the_notice() {
        assert!(LONG_VERSION.starts_with(VERSION));
        assert!(LONG_VERSION.ends_with(IJG_NOTICE));
    }
}
