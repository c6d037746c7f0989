//! Ping/pong timers of an open connection (R65–R67): one timer that is either waiting
//! to send the next Ping or waiting for its Pong.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::engine::heartbeat::Heartbeat;

/// What the heartbeat wants done.
#[derive(Debug, PartialEq, Eq)]
pub enum Beat {
    /// Nothing yet.
    Idle,
    /// Send a Ping now.
    SendPing,
    /// The Pong did not come in time (R66).
    TimedOut,
}

/// The timer state of one connection.
pub struct HeartbeatTimer {
    settings: Heartbeat,
    awaiting_pong: bool,
    timer: Pin<Box<Sleep>>,
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

impl HeartbeatTimer {
    /// Starts counting from the open (R65).
    pub fn new(settings: Heartbeat) -> Self {
        HeartbeatTimer {
            settings,
            awaiting_pong: false,
            timer: Box::pin(tokio::time::sleep(secs(settings.ping_interval_secs))),
        }
    }

    /// A Pong arrived: the next Ping is due one interval from now (R65).
    pub fn on_pong(&mut self) {
        self.awaiting_pong = false;
        let next = Instant::now() + secs(self.settings.ping_interval_secs);
        self.timer.as_mut().reset(next);
    }

    /// A Ping is out and its Pong has not come.
    pub fn awaits_pong(&self) -> bool {
        self.awaiting_pong
    }

    /// Polls the timer; registers the task's waker for the next deadline.
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Beat {
        if self.timer.as_mut().poll(cx).is_pending() {
            return Beat::Idle;
        }
        if self.awaiting_pong {
            return Beat::TimedOut;
        }
        self.awaiting_pong = true;
        let deadline = Instant::now() + secs(self.settings.pong_timeout_secs);
        self.timer.as_mut().reset(deadline);
        // Register the new deadline with this waker.
        let _ = self.timer.as_mut().poll(cx);
        Beat::SendPing
    }
}
