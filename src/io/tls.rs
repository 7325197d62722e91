//! HTTPS: which certificates the clients trust, one rustls configuration that all
//! three clients share, and an error message that says why a server was refused.
//!
//! Trust comes from three places, read once per process:
//!
//! - the system's roots (through `rustls-native-certs`, which reads the operating
//!   system's store, or the file named by `SSL_CERT_FILE` instead, as OpenSSL does);
//! - every file given to [`trust_also`] (the `--ca-cert` flag), PEM certificates that
//!   are trusted *besides* the system's: a self-signed test server's, a company's CA;
//! - the files in [`INHERITED_CA_FILES`], which is how a worker process that was
//!   spawned (a fresh program, not a fork) inherits its parent's `--ca-cert`.
//!
//! Why one configuration for all: the blocking client (ureq), the async client (hyper)
//! and the hand-built event loop must agree on which server is trusted, or the same
//! URL would work in one chapter and fail in another. Rustls runs on the `ring`
//! provider, chosen by name so that no other crate's choice can change it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};

/// The environment variable through which a spawned worker process inherits its
/// parent's `--ca-cert` files (a list, as in `PATH`); see [`for_workers`].
pub const INHERITED_CA_FILES: &str = "WORKBENCH_CA_CERTS";

/// Extra CA files, added by [`trust_also`] before the first HTTPS connection.
static EXTRA_CA_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The configuration, built on first use from the system's roots and the extra files.
static CLIENT_CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// Trusts the certificates in the PEM file `path` as well as the system's (the
/// `--ca-cert` flag). Checked now, so that a missing or empty file is a setup error
/// naming the file, not a failure of every image later.
pub fn trust_also(path: &Path) -> Result<(), String> {
    let certificates = read_certificates(path)?;
    if certificates.is_empty() {
        return Err(format!(
            "the CA file {} holds no PEM certificate (BEGIN CERTIFICATE)",
            path.display()
        ));
    }
    if let Ok(mut files) = EXTRA_CA_FILES.lock()
        && !files.iter().any(|known| known == path)
    {
        files.push(path.to_path_buf());
    }
    Ok(())
}

/// The rustls client configuration every HTTPS connection of this process uses.
pub fn client_config() -> Arc<ClientConfig> {
    CLIENT_CONFIG
        .get_or_init(|| {
            let config = ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                // No input reaches this: ring speaks both default versions, 1.2 and 1.3.
                .expect("ring supports TLS 1.2 and 1.3")
                .with_root_certificates(roots())
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// Every root certificate trusted: the system's, then the extra files'. Also what the
/// blocking client is given, since ureq takes certificates rather than a configuration.
pub fn trusted_certificates() -> Vec<CertificateDer<'static>> {
    // A system store that fails to load in part (one unreadable file) still gives the
    // rest; a system with none at all still trusts the `--ca-cert` files.
    let mut certificates = rustls_native_certs::load_native_certs().certs;
    let mut files = extra_ca_files();
    if let Some(inherited) = std::env::var_os(INHERITED_CA_FILES) {
        files.extend(std::env::split_paths(&inherited));
    }
    for file in files {
        certificates.extend(read_certificates(&file).unwrap_or_default());
    }
    certificates
}

/// Whether `url` is an `https://` URL, the only kind that needs the certificates.
pub fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// The value of [`INHERITED_CA_FILES`] for a worker process this one spawns.
pub fn for_workers() -> std::ffi::OsString {
    std::env::join_paths(extra_ca_files()).unwrap_or_default()
}

fn extra_ca_files() -> Vec<PathBuf> {
    EXTRA_CA_FILES
        .lock()
        .map(|files| files.clone())
        .unwrap_or_default()
}

/// The crypto provider: ring, explicitly.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Adds the hint a reader needs to a TLS failure's message: a certificate nobody
/// trusts is the usual cause (a self-signed server), and the fix is a flag away.
pub fn explain(message: String) -> String {
    let untrusted = ["UnknownIssuer", "invalid peer certificate", "BadSignature"]
        .iter()
        .any(|sign| message.contains(sign));
    if untrusted {
        format!(
            "{message} (the server's certificate is not signed by a trusted authority: \
             pass its CA with --ca-cert FILE, or set SSL_CERT_FILE)"
        )
    } else {
        message
    }
}

fn roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    // A certificate rustls cannot parse is skipped, as every browser does.
    let (_added, _skipped) = roots.add_parsable_certificates(trusted_certificates());
    roots
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let cannot =
        |e: &dyn std::fmt::Display| format!("cannot read the CA file {}: {e}", path.display());
    CertificateDer::pem_file_iter(path)
        .map_err(|e| cannot(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cannot(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_its_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let error = trust_also(&empty).expect_err("no certificate in it");
        assert!(error.contains("empty.pem"), "{error}");
        let missing = trust_also(&dir.path().join("missing.pem")).expect_err("no file");
        assert!(missing.contains("missing.pem"), "{missing}");
    }

    #[test]
    fn an_untrusted_certificate_gets_the_fix_in_its_message() {
        let message = explain("invalid peer certificate: UnknownIssuer".into());
        assert!(message.contains("--ca-cert"), "{message}");
        assert_eq!(explain("connection reset".into()), "connection reset");
    }
}
