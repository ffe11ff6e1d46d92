//! Ports for the servers the tests start (Spin, nginx, Redis, MailDev, PostgreSQL,
//! chromedriver, compose's published ports).
//!
//! A free port is found by binding port 0 and letting it go; the server binds it a
//! moment later. Two servers started at once could be handed the same port that way
//! (the kernel may give a released port out again), and a test would then talk to the
//! other test's server while its own failed to start. So no port is handed out twice in
//! one test process.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

/// A port free on 127.0.0.1 now, never handed out before by this process.
pub fn free_port() -> anyhow::Result<u16> {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if given.insert(port) {
            return Ok(port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_port_is_handed_out_twice() {
        let ports: Vec<u16> = (0..500).map(|_| free_port().unwrap()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
    }
}
