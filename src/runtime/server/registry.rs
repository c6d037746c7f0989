//! The live state of one started server, shared by its listener task, its connection
//! tasks and the JS handle: the open connections by id (what `send`/`close` reach),
//! the S9 admission counts, the handshakes in flight, and whether a stop is under way.
//! One mutex; every operation is a few map updates.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_tungstenite::tungstenite::protocol::Role;

use crate::constants::SERVER_PENDING_HANDSHAKES_MAX;
use crate::engine::limits::Admission;
use crate::engine::server_config::ServerLimits;
use crate::runtime::core::direct::DirectWriter;
use crate::runtime::core::outbox::Outbox;

/// What JS reaches a connection through.
#[derive(Clone)]
pub struct ConnHandle {
    /// Commands to the connection task.
    pub outbox: Arc<Outbox>,
    /// Its write-through gate.
    pub direct: Arc<DirectWriter>,
}

impl ConnHandle {
    fn new() -> Self {
        ConnHandle {
            outbox: Arc::new(Outbox::default()),
            direct: Arc::new(DirectWriter::new(Role::Server)),
        }
    }
}

struct Inner {
    conns: HashMap<u32, ConnHandle>,
    admission: Admission,
    next_id: u32,
    pending_handshakes: usize,
    stopping: bool,
    listening: bool,
    stopped_reported: bool,
}

/// See the module doc.
pub struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    /// A registry for a server that is listening.
    pub fn new(limits: ServerLimits) -> Self {
        Registry {
            inner: Mutex::new(Inner {
                conns: HashMap::new(),
                admission: Admission::new(limits),
                next_id: 1,
                pending_handshakes: 0,
                stopping: false,
                listening: true,
                stopped_reported: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a panic elsewhere; the maps are still consistent
        // (every update is a single statement).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A TCP connection arrived: may it start a handshake? No while stopping or while
    /// [`SERVER_PENDING_HANDSHAKES_MAX`] are in flight.
    pub fn begin_handshake(&self) -> bool {
        let mut inner = self.lock();
        if inner.stopping || inner.pending_handshakes >= SERVER_PENDING_HANDSHAKES_MAX {
            return false;
        }
        inner.pending_handshakes += 1;
        true
    }

    /// A handshake started by [`Registry::begin_handshake`] is over (either way).
    /// Returns `true` when this completes a stop.
    pub fn end_handshake(&self) -> bool {
        let mut inner = self.lock();
        inner.pending_handshakes -= 1;
        Self::stop_complete(&mut inner)
    }

    /// Admits a connection from `ip` under S9 and registers it: its id and handle, or
    /// why it is refused.
    pub fn admit(&self, ip: IpAddr) -> Result<(u32, ConnHandle), String> {
        let mut inner = self.lock();
        if inner.stopping {
            return Err("the server is stopping".into());
        }
        inner.admission.admit(ip)?;
        let mut id = inner.next_id;
        while id == 0 || inner.conns.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        inner.next_id = id.wrapping_add(1);
        let handle = ConnHandle::new();
        inner.conns.insert(id, handle.clone());
        Ok((id, handle))
    }

    /// The handle of open connection `id`.
    pub fn get(&self, id: u32) -> Option<ConnHandle> {
        self.lock().conns.get(&id).cloned()
    }

    /// Connection `id` from `ip` has ended. Returns `true` when this completes a stop.
    pub fn remove(&self, id: u32, ip: IpAddr) -> bool {
        let mut inner = self.lock();
        if inner.conns.remove(&id).is_some() {
            inner.admission.release(ip);
        }
        Self::stop_complete(&mut inner)
    }

    /// Starts a stop: no more handshakes or admissions. Returns the connections to close.
    pub fn begin_stop(&self) -> Vec<ConnHandle> {
        let mut inner = self.lock();
        inner.stopping = true;
        inner.conns.values().cloned().collect()
    }

    /// The listener socket is closed. Returns `true` when this completes a stop.
    pub fn listener_closed(&self) -> bool {
        let mut inner = self.lock();
        inner.listening = false;
        Self::stop_complete(&mut inner)
    }

    /// `true` exactly once: when stopping, not listening, and nothing is left.
    fn stop_complete(inner: &mut Inner) -> bool {
        let done = inner.stopping
            && !inner.listening
            && inner.conns.is_empty()
            && inner.pending_handshakes == 0
            && !inner.stopped_reported;
        if done {
            inner.stopped_reported = true;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ServerLimits {
        ServerLimits {
            max_clients: 1,
            max_per_client: 2,
        }
    }

    #[test]
    fn stop_completes_once_after_everything_ended() {
        let r = Registry::new(limits());
        let ip = IpAddr::from([127, 0, 0, 1]);
        assert!(r.begin_handshake());
        let (a, _) = r.admit(ip).unwrap();
        assert!(!r.end_handshake());
        assert!(r.admit(IpAddr::from([127, 0, 0, 2])).is_err(), "S9 applies");
        assert_eq!(r.begin_stop().len(), 1);
        assert!(!r.begin_handshake(), "no handshakes while stopping");
        assert!(r.admit(ip).is_err());
        assert!(!r.listener_closed(), "a connection is still open");
        assert!(r.get(a).is_some());
        assert!(r.remove(a, ip));
        assert!(!r.remove(a, ip), "reported once");
        assert!(r.get(a).is_none());
    }

    #[test]
    fn ids_are_unique_and_non_zero() {
        let r = Registry::new(ServerLimits {
            max_clients: 10,
            max_per_client: 10,
        });
        let ip = IpAddr::from([127, 0, 0, 1]);
        let (a, _) = r.admit(ip).unwrap();
        let (b, _) = r.admit(ip).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, 0);
    }
}
