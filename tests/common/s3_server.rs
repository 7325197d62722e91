//! A real S3 server (s3s-fs, which checks SigV4 signatures) over a temporary folder, on
//! a free loopback port, for the rest of the test process: over plain HTTP, or behind
//! TLS.

use std::path::PathBuf;

use workbench::io::s3::{S3Flags, S3Place};

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "WORKBENCHTESTKEY";
/// The secret key the server accepts.
pub const SECRET_KEY: &str = "workbench-test-secret";

/// The running server: its endpoint, and the folder holding its buckets.
pub struct S3Server {
    pub endpoint: String,
    root: tempfile::TempDir,
}

impl S3Server {
    /// Starts a server speaking plain HTTP on its own thread and runtime.
    pub fn start() -> S3Server {
        S3Server::start_with(None)
    }

    /// Starts a server that speaks HTTPS through `tls` (its certificate and key).
    pub fn start_tls(tls: tokio_rustls::TlsAcceptor) -> S3Server {
        S3Server::start_with(Some(tls))
    }

    fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> S3Server {
        let root = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let endpoint = format!("{scheme}://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let fs_root = root.path().to_path_buf();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let filesystem = s3s_fs::FileSystem::new(fs_root).unwrap();
                let mut builder = s3s::service::S3ServiceBuilder::new(filesystem);
                builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
                let service = builder.build();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        continue;
                    };
                    let (service, tls) = (service.clone(), tls.clone());
                    tokio::spawn(async move {
                        let http = hyper::server::conn::http1::Builder::new();
                        let _ = match tls {
                            None => {
                                let io = hyper_util::rt::TokioIo::new(socket);
                                http.serve_connection(io, service).await
                            }
                            Some(tls) => {
                                let Ok(encrypted) = tls.accept(socket).await else {
                                    return;
                                };
                                let io = hyper_util::rt::TokioIo::new(encrypted);
                                http.serve_connection(io, service).await
                            }
                        };
                    });
                }
            });
        });
        S3Server { endpoint, root }
    }

    /// Makes a bucket (a folder, for s3s-fs) and returns its path.
    pub fn bucket(&self, name: &str) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    /// The flags that point a chapter at this server, with `secret` as the secret key.
    pub fn flags(&self, secret: &str) -> Vec<String> {
        [
            "--s3-endpoint",
            &self.endpoint,
            "--s3-access-key",
            ACCESS_KEY,
            "--s3-secret-key",
            secret,
        ]
        .map(String::from)
        .to_vec()
    }

    /// `text` (`s3://bucket/prefix/`) as a place on this server.
    pub fn place(&self, text: &str) -> S3Place {
        let flags = S3Flags {
            s3_endpoint: Some(self.endpoint.clone()),
            s3_access_key: Some(ACCESS_KEY.into()),
            s3_secret_key: Some(SECRET_KEY.into()),
            ..S3Flags::default()
        };
        S3Place::parse(text, &flags).unwrap()
    }
}
