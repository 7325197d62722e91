//! HTTPS for the store: its certificate and private key read once into a
//! [`TlsAcceptor`], and a self-signed pair to try it with.
//!
//! TLS is a layer under HTTP: the accept loop takes a TCP connection, the acceptor
//! runs the handshake on it, and hyper serves HTTP over the encrypted stream exactly
//! as over the plain one. Nothing above `accept` knows the difference.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::config::{ServerError, TlsFiles};

/// The store's side of TLS: what every connection's handshake uses.
#[derive(Clone)]
pub(super) struct Tls(pub(super) TlsAcceptor);

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// Reads the certificate chain and the key of `files`; an unreadable file, or a key
    /// that does not match the certificate, is an error naming the file.
    pub(super) fn load(files: &TlsFiles) -> Result<Tls, ServerError> {
        let bad = |path: &Path, cause: String| ServerError::Tls {
            path: path.to_path_buf(),
            cause,
        };
        let chain = CertificateDer::pem_file_iter(&files.cert)
            .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad(&files.cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(bad(&files.cert, "no PEM certificate in it".into()));
        }
        let key =
            PrivateKeyDer::from_pem_file(&files.key).map_err(|e| bad(&files.key, e.to_string()))?;
        let config = rustls::ServerConfig::builder_with_provider(crate::io::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&files.cert, e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| bad(&files.key, e.to_string()))?;
        Ok(Tls(TlsAcceptor::from(Arc::new(config))))
    }
}

/// Writes a new self-signed certificate for `localhost` and `127.0.0.1` into `dir`, as
/// `cert.pem` and `key.pem`: what `workbench serve --tls-cert --tls-key` needs, and what
/// a client trusts with `--ca-cert cert.pem`. For trying HTTPS on one machine only.
pub fn write_self_signed(dir: &Path) -> Result<TlsFiles, ServerError> {
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let pair = rcgen::generate_simple_self_signed(names).map_err(|e| ServerError::Tls {
        path: files.cert.clone(),
        cause: e.to_string(),
    })?;
    let write = |path: &PathBuf, text: String| {
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(path, text))
            .map_err(|e| ServerError::Tls {
                path: path.clone(),
                cause: e.to_string(),
            })
    };
    write(&files.cert, pair.cert.pem())?;
    write(&files.key, pair.signing_key.serialize_pem())?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_pair_loads_and_a_wrong_file_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = write_self_signed(dir.path()).expect("a new pair");
        assert!(Tls::load(&files).is_ok());

        // The key where the certificate should be: the certificate file is named.
        let swapped = TlsFiles {
            cert: files.key.clone(),
            key: files.key.clone(),
        };
        let error = Tls::load(&swapped).expect_err("a key is no certificate");
        assert!(error.to_string().contains("key.pem"), "{error}");

        let missing = TlsFiles {
            cert: files.cert.clone(),
            key: dir.path().join("missing.pem"),
        };
        let error = Tls::load(&missing).expect_err("no key file");
        assert!(error.to_string().contains("missing.pem"), "{error}");
    }
}
