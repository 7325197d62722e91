//! A TCP connection as callbacks: the [`Protocol`] a connection drives, and the
//! [`Transport`] a protocol writes to.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use mio::Token;
use mio::net::TcpStream;

use super::{EventLoop, Readiness, Ready};

impl EventLoop {
    /// Opens a TCP connection to `address` driven by `protocol`: `connection_made` once
    /// connected, or `connection_lost` with the error (a refused connection, say).
    pub fn create_connection(
        &self,
        address: SocketAddr,
        protocol: impl Protocol + 'static,
    ) -> Transport {
        let protocol: Box<dyn Protocol> = Box::new(protocol);
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
    /// Bytes written but not yet taken by the socket.
    outgoing: RefCell<Vec<u8>>,
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
    fn flush(self: &Rc<Self>) {
        loop {
            let mut outgoing = self.outgoing.borrow_mut();
            if outgoing.is_empty() {
                break;
            }
            let written = match self.stream.borrow_mut().as_mut() {
                Some(stream) => stream.write(&outgoing),
                None => return,
            };
            match written {
                Ok(n) => {
                    outgoing.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    drop(outgoing);
                    self.close_now(Some(e));
                    return;
                }
            }
        }
        if self.state.get() == ConnectionState::Closing {
            self.close_now(None);
        }
    }

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
            Ok(true) => {
                self.state.set(ConnectionState::Open);
                let transport = Transport {
                    inner: self.clone(),
                };
                self.with_protocol(|protocol| protocol.connection_made(&transport));
                true
            }
            Ok(false) => false,
            Err(error) => {
                self.close_now(Some(error));
                false
            }
        }
    }

    /// Reads until the socket has nothing more, handing each piece to the protocol.
    fn read_all(self: &Rc<Self>) {
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
