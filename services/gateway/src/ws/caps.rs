//! Caps on open WebSockets per client IP (`BOURSE_WS_MAX_PER_IP`) and per signed-in user
//! (`BOURSE_WS_MAX_PER_USER`); 0 turns a cap off. A socket holds a [`Slot`] for as long as it
//! is open (its user's slot from the moment it signs in), and gives it back when dropped.
//!
//! Over the IP cap the upgrade is refused with 429 `rate_limited`; over the user cap the
//! upgrade (token in the subprotocol header) is refused the same way, and an `auth` frame gets
//! an `error` `rate_limited` frame and leaves the socket anonymous.

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use uuid::Uuid;

/// Open sockets per key, up to a cap.
struct Counts<K> {
    cap: usize,
    open: Mutex<HashMap<K, usize>>,
}

impl<K: Hash + Eq + Copy> Counts<K> {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, key: K) -> bool {
        if self.cap == 0 {
            return true;
        }
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= self.cap {
            return false;
        }
        *count += 1;
        true
    }

    fn give_back(&self, key: K) {
        if self.cap == 0 {
            return;
        }
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&key);
            }
        }
    }
}

pub(crate) struct SocketCaps {
    ips: Counts<IpAddr>,
    users: Counts<Uuid>,
}

/// What a socket holds a place under.
#[derive(Clone, Copy)]
enum Holder {
    Ip(IpAddr),
    User(Uuid),
}

/// One open socket's place under a cap; given back on drop.
pub(crate) struct Slot {
    caps: Arc<SocketCaps>,
    holder: Holder,
}

impl Drop for Slot {
    fn drop(&mut self) {
        match self.holder {
            Holder::Ip(ip) => self.caps.ips.give_back(ip),
            Holder::User(user) => self.caps.users.give_back(user),
        }
    }
}

impl SocketCaps {
    pub(crate) fn new(per_ip: usize, per_user: usize) -> Self {
        Self {
            ips: Counts::new(per_ip),
            users: Counts::new(per_user),
        }
    }

    pub(crate) fn per_ip(&self) -> usize {
        self.ips.cap
    }

    pub(crate) fn per_user(&self) -> usize {
        self.users.cap
    }

    /// A place for one more socket from `ip`, or `None` at the cap.
    pub(crate) fn ip(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        self.ips.take(ip).then(|| Slot {
            caps: self.clone(),
            holder: Holder::Ip(ip),
        })
    }

    /// A place for one more socket of `user`, or `None` at the cap.
    pub(crate) fn user(self: &Arc<Self>, user: Uuid) -> Option<Slot> {
        self.users.take(user).then(|| Slot {
            caps: self.clone(),
            holder: Holder::User(user),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_comes_back_when_its_socket_closes() {
        let caps = Arc::new(SocketCaps::new(2, 1));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let first = caps.ip(ip).unwrap();
        let _second = caps.ip(ip).unwrap();
        assert!(caps.ip(ip).is_none(), "the third is over the cap");
        assert!(
            caps.ip("192.0.2.2".parse().unwrap()).is_some(),
            "per address"
        );
        drop(first);
        assert!(caps.ip(ip).is_some());

        let user = Uuid::nil();
        let held = caps.user(user).unwrap();
        assert!(caps.user(user).is_none());
        drop(held);
        assert!(caps.user(user).is_some());
    }

    #[test]
    fn zero_turns_a_cap_off() {
        let caps = Arc::new(SocketCaps::new(0, 0));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<Slot> = (0..100).filter_map(|_| caps.ip(ip)).collect();
        assert_eq!(held.len(), 100);
    }
}
