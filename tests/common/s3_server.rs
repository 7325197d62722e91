//! A real S3 server (s3s-fs, which checks SigV4 signatures) over a temporary folder, on
//! a free loopback port, for the rest of the test process.

use std::path::PathBuf;

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
    /// Starts a server on its own thread and runtime; it lives as long as the process.
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
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
                    let service = service.clone();
                    tokio::spawn(async move {
                        let io = hyper_util::rt::TokioIo::new(socket);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
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
}
