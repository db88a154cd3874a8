//! The devices' door to the embedded broker: a TCP guard in front of it
//! that keeps connections below the process's open-file limit, in total
//! and per address, and closes a connection that says nothing.
//!
//! rmqtt waits for a new connection's first bytes without a time limit
//! and has no per-address limit, so 1,100 idle connections would take
//! every file descriptor the process has (the HTTP API and the database
//! share them). The guard accepts, counts, waits a few seconds for the
//! first byte, and then passes the bytes through to the broker's own
//! listener on the loopback interface (which then gives the CONNECT a few
//! seconds more). It reads nothing of MQTT.
//!
//! On its TLS door (MQTT over TLS, port 8883 by default) the guard also
//! ends TLS (rustls, the HTTPS certificate) within the same first seconds
//! and passes the plain bytes on: the broker's sign-in, rules and limits
//! are the same whichever door a device used, and the per-address limit
//! still sees the device's own address.

use super::tally::Tally;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The guard's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Device connections at once.
    pub max_connections: usize,
    /// Device connections at once from one address.
    pub max_per_address: usize,
    /// How long a new connection may stay silent.
    pub first_byte_timeout: Duration,
}

/// Bytes buffered per direction of a connection (device messages are at
/// most 16 KiB; small buffers keep 30,000 connections cheap).
const BUFFER_BYTES: usize = 2048;

/// The connections open through the guard's doors.
#[derive(Default)]
pub struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Open {
    /// One count shared by every door.
    pub fn shared() -> Arc<Mutex<Open>> {
        Arc::new(Mutex::new(Open::default()))
    }
}

/// A place among the open connections, given back on drop.
struct Place {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut o = self.open.lock().unwrap_or_else(|e| e.into_inner());
        o.total = o.total.saturating_sub(1);
        if let Some(n) = o.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                o.by_address.remove(&self.ip);
            }
        }
    }
}

fn take_place(open: &Arc<Mutex<Open>>, ip: IpAddr, limits: &Limits) -> Result<Place, &'static str> {
    let mut o = open.lock().unwrap_or_else(|e| e.into_inner());
    if o.total >= limits.max_connections {
        return Err("connection_refused_total_limit");
    }
    let n = o.by_address.entry(ip).or_default();
    if *n >= limits.max_per_address {
        return Err("connection_refused_address_limit");
    }
    *n += 1;
    o.total += 1;
    Ok(Place {
        open: open.clone(),
        ip,
    })
}

/// Accepts on `listener` forever, passing each connection to `upstream`
/// (after ending TLS with `tls`, when given), counted in `open`.
pub async fn run(
    listener: TcpListener,
    upstream: SocketAddr,
    limits: Limits,
    tally: Arc<Tally>,
    open: Arc<Mutex<Open>>,
    tls: Option<TlsAcceptor>,
) {
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => match take_place(&open, peer.ip(), &limits) {
                Ok(place) => {
                    let tally = tally.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        pass(socket, upstream, limits, place, tally, tls).await;
                    });
                }
                // Closed at once: the descriptor is given back now.
                Err(why) => {
                    drop(socket);
                    tally.dropped(why);
                }
            },
            Err(e) => {
                // Out of descriptors (EMFILE) or a connection reset before
                // it was accepted: count it, wait a little, go on.
                tally.dropped(if e.raw_os_error() == Some(24) {
                    "accept_failed_too_many_open_files"
                } else {
                    "accept_failed"
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn pass(
    socket: TcpStream,
    upstream: SocketAddr,
    limits: Limits,
    _place: Place,
    tally: Arc<Tally>,
    tls: Option<TlsAcceptor>,
) {
    let mut first = [0u8; 1];
    match tokio::time::timeout(limits.first_byte_timeout, socket.peek(&mut first)).await {
        Ok(Ok(n)) if n > 0 => {}
        Ok(_) => return,
        Err(_) => {
            tally.dropped("connection_closed_silent");
            return;
        }
    }
    let _ = socket.set_nodelay(true);
    match tls {
        None => relay(socket, upstream, &tally).await,
        // The handshake gets the same few seconds as the first byte: a
        // client that starts one and stalls holds a place no longer.
        Some(acceptor) => {
            match tokio::time::timeout(limits.first_byte_timeout, acceptor.accept(socket)).await {
                Ok(Ok(stream)) => relay(stream, upstream, &tally).await,
                Ok(Err(_)) => tally.dropped("tls_handshake_failed"),
                Err(_) => tally.dropped("tls_handshake_timeout"),
            }
        }
    }
}

/// Copies bytes both ways between the device and the broker until either
/// side closes.
async fn relay<S>(mut device: S, upstream: SocketAddr, tally: &Tally)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut broker = match TcpStream::connect(upstream).await {
        Ok(b) => b,
        Err(_) => {
            tally.dropped("broker_unreachable");
            return;
        }
    };
    let _ = broker.set_nodelay(true);
    // Ends when either side closes; errors are resets, nothing to report.
    let _ = tokio::io::copy_bidirectional_with_sizes(
        &mut device,
        &mut broker,
        BUFFER_BYTES,
        BUFFER_BYTES,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_limited_in_total_and_per_address_and_given_back() {
        let open = Open::shared();
        let limits = Limits {
            max_connections: 3,
            max_per_address: 2,
            first_byte_timeout: Duration::from_secs(1),
        };
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = take_place(&open, a, &limits).unwrap();
        let _p2 = take_place(&open, a, &limits).unwrap();
        assert_eq!(
            take_place(&open, a, &limits).err(),
            Some("connection_refused_address_limit")
        );
        let _p3 = take_place(&open, b, &limits).unwrap();
        assert_eq!(
            take_place(&open, b, &limits).err(),
            Some("connection_refused_total_limit")
        );
        drop(p1);
        let _p4 = take_place(&open, a, &limits).unwrap();
        assert_eq!(open.lock().unwrap().total, 3);
        assert_eq!(open.lock().unwrap().by_address[&a], 2);
    }
}
