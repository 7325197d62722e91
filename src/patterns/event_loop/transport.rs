//! A TCP connection as callbacks: the [`Protocol`] a connection drives, and the
//! [`Transport`] a protocol writes to. Over TLS, the transport encrypts and decrypts
//! in between (see `tls`), and the protocol sees only plaintext.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use mio::Token;
use mio::net::TcpStream;

use super::tls::TlsSession;
use super::{EventLoop, Readiness, Ready};

impl EventLoop {
    /// Opens a TCP connection to `address` driven by `protocol`: `connection_made` once
    /// connected, or `connection_lost` with the error (a refused connection, say).
    pub fn create_connection(
        &self,
        address: SocketAddr,
        protocol: impl Protocol + 'static,
    ) -> Transport {
        self.connect(address, None, Box::new(protocol))
    }

    /// [`create_connection`](Self::create_connection) over TLS: `connection_made` comes
    /// once the handshake is over and `host`'s certificate checked, and the protocol
    /// reads and writes plaintext as before.
    pub fn create_tls_connection(
        &self,
        address: SocketAddr,
        host: &str,
        protocol: impl Protocol + 'static,
    ) -> Transport {
        let protocol: Box<dyn Protocol> = Box::new(protocol);
        match TlsSession::new(host) {
            Ok(session) => self.connect(address, Some(session), protocol),
            Err(error) => {
                let transport = self.connect(address, None, protocol);
                transport.close_now(Some(error));
                transport
            }
        }
    }

    fn connect(
        &self,
        address: SocketAddr,
        tls: Option<TlsSession>,
        protocol: Box<dyn Protocol>,
    ) -> Transport {
        let (stream, error) = match TcpStream::connect(address) {
            Ok(stream) => (Some(stream), None),
            Err(error) => (None, Some(error)),
        };
        let transport = Transport {
            inner: Rc::new(TransportState {
                event_loop: self.clone(),
                stream: RefCell::new(stream),
                token: Cell::new(None),
                state: Cell::new(ConnectionState::Connecting),
                outgoing: RefCell::new(Vec::new()),
                tls: RefCell::new(tls),
                protocol: RefCell::new(Some(protocol)),
            }),
        };
        if let Some(error) = error {
            transport.close_now(Some(error));
            return transport;
        }
        let socket: Rc<dyn Ready> = Rc::new(Connection(transport.inner.clone()));
        let registered = match transport.inner.stream.borrow_mut().as_mut() {
            Some(stream) => self.register(stream, socket),
            None => Err(io::Error::other("no socket")),
        };
        match registered {
            Ok(token) => transport.inner.token.set(Some(token)),
            Err(error) => transport.close_now(Some(error)),
        }
        transport
    }
}

// ANCHOR: protocol
/// What happens on a connection, as callbacks the loop calls (asyncio's `Protocol`).
pub trait Protocol {
    /// Connected: `transport` is how to write and close.
    fn connection_made(&mut self, transport: &Transport);
    /// Bytes arrived.
    fn data_received(&mut self, data: &[u8]);
    /// The other side will send nothing more. The transport closes after this.
    fn eof_received(&mut self) {}
    /// The connection is closed: `None` after a normal close, else the error (a refused
    /// connection never made, a reset, ...). Always the last call.
    fn connection_lost(&mut self, error: Option<io::Error>);
}
// ANCHOR_END: protocol

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectionState {
    Connecting,
    /// Connected, and the TLS handshake under way: no plaintext moves yet.
    Handshaking,
    Open,
    /// `close` was called: the pending bytes are sent, then the socket closes.
    Closing,
    Closed,
}

/// A non-blocking TCP connection as the protocol sees it: `write`, `close`, `abort`.
#[derive(Clone)]
pub struct Transport {
    inner: Rc<TransportState>,
}

struct TransportState {
    event_loop: EventLoop,
    stream: RefCell<Option<TcpStream>>,
    token: Cell<Option<Token>>,
    state: Cell<ConnectionState>,
    /// Bytes written but not yet taken by the socket (or, over TLS, by the session).
    outgoing: RefCell<Vec<u8>>,
    /// The TLS session between the protocol and the socket; `None` for plain TCP.
    tls: RefCell<Option<TlsSession>>,
    /// Taken out for the last call, `connection_lost`, which breaks the cycle
    /// transport -> protocol -> transport.
    protocol: RefCell<Option<Box<dyn Protocol>>>,
}

impl Transport {
    /// Queues `data` and sends what the socket takes now; the rest goes when it is
    /// writable again. Never blocks.
    pub fn write(&self, data: &[u8]) {
        if self.inner.state.get() == ConnectionState::Open {
            self.inner.outgoing.borrow_mut().extend_from_slice(data);
            self.inner.flush();
        }
    }

    /// Closes once the queued bytes are sent; `connection_lost(None)` follows.
    pub fn close(&self) {
        if self.inner.state.get() == ConnectionState::Open {
            self.inner.state.set(ConnectionState::Closing);
            if let Some(tls) = self.inner.tls.borrow_mut().as_mut() {
                tls.close(); // Tell the server: a truncation attack looks the same without it.
            }
            self.inner.flush();
        }
    }

    /// Closes now, dropping queued bytes; `connection_lost(None)` follows.
    pub fn abort(&self) {
        self.close_now(None);
    }

    fn close_now(&self, error: Option<io::Error>) {
        self.inner.close_now(error);
    }
}

impl TransportState {
    /// Sends what is queued until the socket would block; the rest goes when it is
    /// writable again. Once all is sent, a closing transport closes.
    fn flush(self: &Rc<Self>) {
        let encrypted = self.tls.borrow().is_some();
        let sent = if encrypted {
            self.send_encrypted()
        } else {
            self.send_plain()
        };
        match sent {
            Ok(true) if self.state.get() == ConnectionState::Closing => self.close_now(None),
            Ok(_) => {}
            Err(error) => self.close_now(Some(error)),
        }
    }

    /// Plain TCP: the queued bytes straight to the socket. `Ok(true)` when all are sent.
    fn send_plain(&self) -> io::Result<bool> {
        let mut outgoing = self.outgoing.borrow_mut();
        let mut stream = self.stream.borrow_mut();
        let Some(stream) = stream.as_mut() else {
            return Ok(false);
        };
        while !outgoing.is_empty() {
            match stream.write(&outgoing) {
                Ok(n) => {
                    outgoing.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    // ANCHOR: tls_send
    /// TLS: the queued plaintext into the session, then its records to the socket
    /// (handshake records too, which the session makes on its own).
    fn send_encrypted(&self) -> io::Result<bool> {
        let mut tls = self.tls.borrow_mut();
        let mut stream = self.stream.borrow_mut();
        let (Some(tls), Some(stream)) = (tls.as_mut(), stream.as_mut()) else {
            return Ok(false);
        };
        let plaintext = std::mem::take(&mut *self.outgoing.borrow_mut());
        if !plaintext.is_empty() {
            tls.encrypt(&plaintext)?;
        }
        tls.send(stream)
    }
    // ANCHOR_END: tls_send

    /// Closes the socket and schedules the protocol's last call.
    fn close_now(self: &Rc<Self>, error: Option<io::Error>) {
        if self.state.replace(ConnectionState::Closed) == ConnectionState::Closed {
            return;
        }
        if let Some(mut stream) = self.stream.borrow_mut().take() {
            if let Some(token) = self.token.take() {
                self.event_loop.deregister(&mut stream, token);
            }
            let _ = stream.shutdown(Shutdown::Both);
        }
        let me = self.clone();
        self.event_loop.call_soon(move || {
            let protocol = me.protocol.borrow_mut().take();
            if let Some(mut protocol) = protocol {
                protocol.connection_lost(error);
            }
        });
    }

    fn with_protocol(&self, call: impl FnOnce(&mut dyn Protocol)) {
        if let Some(protocol) = self.protocol.borrow_mut().as_mut() {
            call(protocol.as_mut());
        }
    }

    /// Connected, or failed to connect (mio's recipe: look at the socket's error, then
    /// whether it has a peer).
    fn finish_connecting(self: &Rc<Self>) -> bool {
        let status = match self.stream.borrow().as_ref() {
            Some(stream) => match stream.take_error() {
                Ok(Some(error)) | Err(error) => Err(error),
                Ok(None) => match stream.peer_addr() {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(error) => Err(error),
                },
            },
            None => Ok(false),
        };
        match status {
            Ok(true) if self.tls.borrow().is_some() => {
                // The protocol waits for the handshake; the session's first record
                // (the ClientHello) goes out now.
                self.state.set(ConnectionState::Handshaking);
                self.flush();
                true
            }
            Ok(true) => {
                self.open();
                true
            }
            Ok(false) => false,
            Err(error) => {
                self.close_now(Some(error));
                false
            }
        }
    }

    /// Open for the protocol: `connection_made`.
    fn open(self: &Rc<Self>) {
        self.state.set(ConnectionState::Open);
        let transport = Transport {
            inner: self.clone(),
        };
        self.with_protocol(|protocol| protocol.connection_made(&transport));
    }

    /// Reads until the socket has nothing more, handing each piece to the protocol.
    fn read_all(self: &Rc<Self>) {
        if self.tls.borrow().is_some() {
            return self.read_encrypted();
        }
        let mut buffer = [0u8; 64 * 1024];
        while matches!(
            self.state.get(),
            ConnectionState::Open | ConnectionState::Closing
        ) {
            let read = match self.stream.borrow_mut().as_mut() {
                Some(stream) => stream.read(&mut buffer),
                None => return,
            };
            match read {
                Ok(0) => {
                    self.with_protocol(|protocol| protocol.eof_received());
                    self.close_now(None);
                }
                Ok(n) => self.with_protocol(|protocol| protocol.data_received(&buffer[..n])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.close_now(Some(e)),
            }
        }
    }
}

impl TransportState {
    // ANCHOR: tls_receive
    /// TLS: the records the socket holds into the session; then, in order, the end of
    /// the handshake (`connection_made`), the plaintext (`data_received`), the end of
    /// the stream, and whatever the session has to answer (handshake records).
    fn read_encrypted(self: &Rc<Self>) {
        let received = {
            let mut tls = self.tls.borrow_mut();
            let mut stream = self.stream.borrow_mut();
            match (tls.as_mut(), stream.as_mut()) {
                (Some(tls), Some(stream)) => tls
                    .receive(stream)
                    .map(|received| (received, tls.is_handshaking())),
                _ => return,
            }
        };
        let (received, handshaking) = match received {
            Ok(received) => received,
            Err(error) => return self.close_now(Some(error)),
        };
        if self.state.get() == ConnectionState::Handshaking && !handshaking {
            self.open();
        }
        if !received.plaintext.is_empty() {
            self.with_protocol(|protocol| protocol.data_received(&received.plaintext));
        }
        if received.closed && self.state.get() != ConnectionState::Closed {
            self.with_protocol(|protocol| protocol.eof_received());
            self.close_now(None);
        } else {
            self.flush();
        }
    }
    // ANCHOR_END: tls_receive
}

/// What the loop holds for a connection: the way back to it when its socket is ready.
struct Connection(Rc<TransportState>);

impl Ready for Connection {
    fn ready(&self, readiness: Readiness) {
        let transport = &self.0;
        if transport.state.get() == ConnectionState::Connecting && !transport.finish_connecting() {
            return;
        }
        if readiness.writable {
            transport.flush();
        }
        if readiness.readable || readiness.error {
            transport.read_all();
        }
    }
}
