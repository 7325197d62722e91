//! TLS on the hand-built loop: rustls's state machine, fed by readiness events.
//!
//! rustls does no IO of its own. It is a state machine with two sides: the *network*
//! side takes the bytes that came off the socket (`read_tls`) and hands back the
//! records to send (`write_tls`); the *plaintext* side takes what the protocol writes
//! (`writer`) and gives back what the server said (`reader`). The transport moves
//! bytes between the socket and the network side whenever mio says the socket is
//! ready, and between the plaintext side and the protocol. The handshake is nothing
//! special: it is records going back and forth until `is_handshaking` turns false.
//!
//! asyncio does the same with an `SSLObject` and two memory buffers (its
//! `sslproto.py`); the protocol above never sees a record, only plaintext.

use std::io::{self, Read as _, Write as _};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::ClientConnection;
use rustls::pki_types::ServerName;

use crate::io::tls::client_config;

/// One connection's TLS session.
pub(super) struct TlsSession {
    connection: ClientConnection,
}

/// What one read from the socket gave.
pub(super) struct Received {
    /// The plaintext the records held (empty during the handshake).
    pub(super) plaintext: Vec<u8>,
    /// The server is done: it closed the socket or sent `close_notify`.
    pub(super) closed: bool,
}

impl TlsSession {
    /// A session that will check the server's certificate against `host`.
    pub(super) fn new(host: &str) -> io::Result<TlsSession> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut connection =
            ClientConnection::new(Arc::clone(&client_config()), name).map_err(io::Error::other)?;
        // The whole request (a thumbnail, for a PUT) may be written at once; the bytes
        // are in memory already, so rustls may hold them all until the socket takes them.
        connection.set_buffer_limit(None);
        Ok(TlsSession { connection })
    }

    /// Whether the handshake is still going on: until it ends, nothing is plaintext.
    pub(super) fn is_handshaking(&self) -> bool {
        self.connection.is_handshaking()
    }

    /// Encrypts what the protocol wrote; the records go out with [`send`](Self::send).
    pub(super) fn encrypt(&mut self, plaintext: &[u8]) -> io::Result<()> {
        self.connection.writer().write_all(plaintext)
    }

    /// Asks to close: a `close_notify` record joins the ones waiting to be sent.
    pub(super) fn close(&mut self) {
        self.connection.send_close_notify();
    }

    /// Sends the waiting records until the socket would block (`Ok(false)`: the rest
    /// goes on the next writable event) or none is left (`Ok(true)`).
    pub(super) fn send(&mut self, socket: &mut TcpStream) -> io::Result<bool> {
        while self.connection.wants_write() {
            match self.connection.write_tls(socket) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Reads the records the socket holds and decrypts them. A record rustls refuses
    /// (a certificate it does not trust, a bad signature) is an error that ends the
    /// connection, with rustls's reason.
    pub(super) fn receive(&mut self, socket: &mut TcpStream) -> io::Result<Received> {
        let mut received = Received {
            plaintext: Vec::new(),
            closed: false,
        };
        loop {
            match self.connection.read_tls(socket) {
                Ok(0) => {
                    received.closed = true;
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let state = self
                .connection
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if state.plaintext_bytes_to_read() > 0 {
                let start = received.plaintext.len();
                received
                    .plaintext
                    .resize(start + state.plaintext_bytes_to_read(), 0);
                self.connection
                    .reader()
                    .read_exact(&mut received.plaintext[start..])?;
            }
            if state.peer_has_closed() {
                received.closed = true;
                break;
            }
        }
        Ok(received)
    }
}
