//! Heartbeat settings (R35, R66–R68): normalisation of `pingInterval` / `pongTimeout`.
//! The timers themselves run in the connection task.

use crate::constants::{
    PING_INTERVAL_DEFAULT_SECS, PING_INTERVAL_MAX_SECS, PONG_TIMEOUT_DEFAULT_SECS,
};

/// Effective heartbeat of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Seconds between a Pong (or the open) and the next Ping.
    pub ping_interval_secs: u32,
    /// Seconds to wait for the Pong of a Ping.
    pub pong_timeout_secs: u32,
}

/// Applies R35 to the values read with `ToUint32` (`None` = not a number → default);
/// `None` as result means the heartbeat is disabled (R68).
pub fn normalise(ping_interval: Option<u32>, pong_timeout: Option<u32>) -> Option<Heartbeat> {
    let mut ping = ping_interval.unwrap_or(PING_INTERVAL_DEFAULT_SECS);
    let mut pong = pong_timeout.unwrap_or(PONG_TIMEOUT_DEFAULT_SECS);
    if ping > PING_INTERVAL_MAX_SECS {
        ping = PING_INTERVAL_DEFAULT_SECS;
    }
    if pong > ping && pong != PONG_TIMEOUT_DEFAULT_SECS {
        pong = ping;
    }
    if ping == 0 {
        return None;
    }
    if pong == 0 {
        // R66 [NODE]: OH would drop the link the moment the Ping is due.
        pong = ping;
    }
    Some(Heartbeat {
        ping_interval_secs: ping,
        pong_timeout_secs: pong,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(p: u32, t: u32) -> Option<Heartbeat> {
        Some(Heartbeat {
            ping_interval_secs: p,
            pong_timeout_secs: t,
        })
    }

    #[test]
    fn r35_rules() {
        assert_eq!(normalise(None, None), hb(30, 30));
        assert_eq!(normalise(Some(0), None), None);
        assert_eq!(normalise(Some(u32::MAX), None), hb(30, 30));
        assert_eq!(normalise(Some(10), Some(20)), hb(10, 10));
        // 30 is exempt from the clamp, as in OH.
        assert_eq!(normalise(Some(10), Some(30)), hb(10, 30));
        assert_eq!(normalise(Some(10), Some(0)), hb(10, 10));
        assert_eq!(normalise(Some(60), Some(5)), hb(60, 5));
    }
}
