//! The S9 admission rule of a server: how many distinct client IPs, and how many
//! connections per IP, may be open at once. Pure bookkeeping; the runtime holds it
//! under a lock and asks it before answering `101`.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::engine::server_config::ServerLimits;

/// Open connections per client IP.
#[derive(Debug)]
pub struct Admission {
    limits: ServerLimits,
    per_ip: HashMap<IpAddr, u32>,
}

impl Admission {
    /// Nobody admitted yet.
    pub fn new(limits: ServerLimits) -> Self {
        Admission {
            limits,
            per_ip: HashMap::new(),
        }
    }

    /// Counts one more connection from `ip`, or says why it is refused (S9).
    pub fn admit(&mut self, ip: IpAddr) -> Result<(), String> {
        match self.per_ip.get(&ip).copied() {
            Some(n) if n >= self.limits.max_per_client => Err(format!(
                "{ip} already has {n} connections (maxConnectionsForOneClient)"
            )),
            Some(_) => {
                *self.per_ip.entry(ip).or_insert(0) += 1;
                Ok(())
            }
            None if self.per_ip.len() as u32 >= self.limits.max_clients => Err(format!(
                "{} client addresses are connected already (maxConcurrentClientsNumber)",
                self.per_ip.len()
            )),
            None => {
                self.per_ip.insert(ip, 1);
                Ok(())
            }
        }
    }

    /// A connection from `ip` that [`Admission::admit`] counted has ended.
    pub fn release(&mut self, ip: IpAddr) {
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn per_ip_and_distinct_ip_limits() {
        let mut a = Admission::new(ServerLimits {
            max_clients: 2,
            max_per_client: 2,
        });
        assert!(a.admit(ip(1)).is_ok());
        assert!(a.admit(ip(1)).is_ok());
        assert!(a.admit(ip(1)).is_err(), "third from one IP");
        assert!(a.admit(ip(2)).is_ok());
        assert!(a.admit(ip(3)).is_err(), "third distinct IP");
        a.release(ip(2));
        assert!(a.admit(ip(3)).is_ok(), "a freed IP slot is reusable");
        a.release(ip(1));
        assert!(a.admit(ip(1)).is_ok());
        // Releasing an unknown address changes nothing.
        a.release(ip(9));
        assert!(a.admit(ip(4)).is_err());
    }
}
