//! The whole cluster on one machine, for the run with no role: a broker of its own (a
//! `nats-server` with its state in a temporary folder), and worker processes that are
//! this very program started with the `worker` role. Both are stopped and cleaned up
//! when dropped, so a run leaves no process and no broker state behind.
//!
//! Each child gets a process group of its own: Ctrl-C in the terminal reaches this
//! process only, which then stops its children in order.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use workbench::io::s3::S3Flags;
use workbench::io::tls;

/// How the reader gets a broker when none is installed.
pub const INSTALL: &str = "install it (Debian or Ubuntu: `apt-get install nats-server`; \
                           elsewhere see nats.io), or pass --nats URL (or set NATS_URL) \
                           to use one that is running";

/// A `nats-server` started for this run, on a free port of 127.0.0.1.
pub struct LocalBroker {
    process: Child,
    url: String,
    /// JetStream's files and the ports file; removed when the broker is dropped.
    _state: tempfile::TempDir,
}

impl LocalBroker {
    /// Starts `nats-server` from the `PATH` with JetStream on, and waits until it says
    /// which port it took.
    pub fn start() -> Result<LocalBroker, String> {
        let state = tempfile::Builder::new()
            .prefix("ch10-broker-")
            .tempdir()
            .map_err(|e| format!("cannot make a folder for the broker: {e}"))?;
        let mut command = Command::new("nats-server");
        command
            .args(["-js", "-a", "127.0.0.1", "-p", "-1"]) // -1: any free port
            .arg("-sd")
            .arg(state.path().join("jetstream"))
            .arg("--ports_file_dir")
            .arg(state.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let process = command.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("nats-server is not on the PATH: {INSTALL}"),
            _ => format!("cannot start nats-server: {e}"),
        })?;
        let mut broker = LocalBroker {
            process,
            url: String::new(),
            _state: state,
        };
        broker.url = broker.wait_for_port()?;
        Ok(broker)
    }

    /// The broker's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Reads the URL from the ports file the server writes once it listens.
    fn wait_for_port(&mut self) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let file = self
            ._state
            .path()
            .join(format!("nats-server_{}.ports", self.process.id()));
        while Instant::now() < deadline {
            if let Some(url) = read_ports_file(&file) {
                return Ok(url);
            }
            if let Ok(Some(status)) = self.process.try_wait() {
                return Err(format!("nats-server stopped at once ({status})"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err("nats-server did not start listening within 10 s".into())
    }
}

/// The client URL in a ports file (`{"nats":["nats://127.0.0.1:PORT"]}`), once written.
fn read_ports_file(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
    ports["nats"][0].as_str().map(String::from)
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        // Its state is temporary: nothing to save, so no need for a gentle stop.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Worker processes started by this run: this program with the `worker` role.
pub struct Workers {
    /// Name and process of each worker still running.
    running: Vec<(String, Child)>,
}

impl Workers {
    /// Starts `count` workers on the broker at `url`, each with `slots` (else one per
    /// core). They sign S3 requests with this run's S3 settings, handed over in their
    /// environment (never on a command line, where any user could read a secret).
    pub fn start(
        count: usize,
        slots: Option<usize>,
        url: &str,
        quiet: bool,
        s3: &S3Flags,
    ) -> Result<Workers, String> {
        let program = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to start workers: {e}"))?;
        let mut workers = Workers {
            running: Vec::new(),
        };
        for n in 1..=count.max(1) {
            let name = format!("worker-{n}");
            let mut command = Command::new(&program);
            command
                .args([
                    "worker",
                    "--nats",
                    url,
                    "--name",
                    &name,
                    "--die-with-parent",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .process_group(0);
            if quiet {
                command.arg("--quiet");
            }
            if let Some(slots) = slots {
                command.args(["--slots", &slots.to_string()]);
            }
            hand_over_s3(&mut command, s3);
            // And the run's `--ca-cert` files, for HTTPS sources and outputs.
            command.env(tls::INHERITED_CA_FILES, tls::for_workers());
            let child = command
                .spawn()
                .map_err(|e| format!("cannot start {name}: {e}"))?;
            workers.running.push((name, child));
        }
        Ok(workers)
    }

    /// Kills the worker with process id `pid` at once (SIGKILL: no goodbye, no ack), and
    /// returns its name.
    pub fn kill(&mut self, pid: u32) -> Option<String> {
        let at = self
            .running
            .iter()
            .position(|(_, child)| child.id() == pid)?;
        let (name, mut child) = self.running.remove(at);
        let _ = child.kill();
        let _ = child.wait();
        Some(name)
    }

    /// Asks every worker to stop (SIGTERM: finish what you hold, take nothing new) and
    /// waits for them, killing any that has not ended after a few seconds.
    pub fn stop(mut self) {
        for (_, child) in &self.running {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (_, child) in &mut self.running {
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // Drop kills and reaps whoever is left.
    }
}

/// Puts the S3 flags of this run in a worker's environment, where its own flags read them.
fn hand_over_s3(command: &mut Command, s3: &S3Flags) {
    let settings = [
        ("AWS_ENDPOINT_URL", &s3.s3_endpoint),
        ("AWS_REGION", &s3.s3_region),
        ("AWS_ACCESS_KEY_ID", &s3.s3_access_key),
        ("AWS_SECRET_ACCESS_KEY", &s3.s3_secret_key),
    ];
    for (variable, value) in settings {
        if let Some(value) = value {
            command.env(variable, value);
        }
    }
    if s3.s3_allow_http {
        command.arg("--s3-allow-http");
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (_, child) in &mut self.running {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}
