//! What the exporter does with signals:
//! - SIGTERM, SIGINT: stop accepting connections, let the requests in
//!   flight finish (10 s at most), then exit 0; a second one stops at once;
//! - SIGQUIT: stop at once, without waiting for requests in flight (exit 1);
//! - SIGHUP, SIGUSR1, SIGUSR2: logged and otherwise ignored (a stray
//!   `kill -HUP` must not take the node's monitoring down; the web
//!   configuration file needs no signal: it is re-read when it changes).
//!
//! The save commands run in process groups of their own, so a Ctrl-C in a
//! terminal does not reach them; whichever way the exporter stops, it kills
//! the groups of the commands still running.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// How the process was asked to stop; later variants are more urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// SIGTERM or SIGINT: finish the requests in flight first.
    Graceful,
    /// SIGQUIT: now.
    Immediate,
}

/// Handles the signals on the current runtime from now on (none of them
/// ends the process by itself any more); the receiver holds how the process
/// has been asked to stop, if it has.
pub fn watch() -> watch::Receiver<Option<Stop>> {
    let (sender, receiver) = watch::channel(None);
    // Installed before this returns and kept for the process's life: a
    // stream made after a signal arrived never sees it, so one made only
    // once the first SIGTERM was handled could miss a second sent at once.
    let mut listeners = Listeners::install();
    tokio::spawn(async move {
        let first = listeners.stop_requested().await;
        sender.send_replace(Some(first));
        if first == Stop::Graceful {
            listeners.stop_requested().await;
            tracing::warn!("asked again: stopping at once");
            sender.send_replace(Some(Stop::Immediate));
        }
    });
    receiver
}

/// Resolves once a stop at least as urgent as `stop` has been asked for.
pub async fn requested(mut receiver: watch::Receiver<Option<Stop>>, stop: Stop) {
    // An error means the watcher is gone, which only happens at exit.
    let _ = receiver
        .wait_for(|asked| asked.is_some_and(|s| s >= stop))
        .await;
}

/// One stream per signal handled; `None` where no handler could be
/// installed (the signal keeps its default action).
struct Listeners {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
    quit: Option<Signal>,
    hangup: Option<Signal>,
    user1: Option<Signal>,
    user2: Option<Signal>,
}

impl Listeners {
    fn install() -> Self {
        Self {
            interrupt: listen("SIGINT", SignalKind::interrupt()),
            terminate: listen("SIGTERM", SignalKind::terminate()),
            quit: listen("SIGQUIT", SignalKind::quit()),
            hangup: listen("SIGHUP", SignalKind::hangup()),
            user1: listen("SIGUSR1", SignalKind::user_defined1()),
            user2: listen("SIGUSR2", SignalKind::user_defined2()),
        }
    }

    /// Resolves with the next request to stop, logging the signals ignored
    /// on the way.
    async fn stop_requested(&mut self) -> Stop {
        loop {
            let (name, stop) = tokio::select! {
                () = arrival(&mut self.interrupt) => ("SIGINT", Some(Stop::Graceful)),
                () = arrival(&mut self.terminate) => ("SIGTERM", Some(Stop::Graceful)),
                () = arrival(&mut self.quit) => ("SIGQUIT", Some(Stop::Immediate)),
                () = arrival(&mut self.hangup) => ("SIGHUP", None),
                () = arrival(&mut self.user1) => ("SIGUSR1", None),
                () = arrival(&mut self.user2) => ("SIGUSR2", None),
            };
            match stop {
                Some(stop) => {
                    tracing::info!(signal = name, "shutting down");
                    return stop;
                }
                None => tracing::info!(signal = name, "signal ignored"),
            }
        }
    }
}

fn listen(name: &'static str, kind: SignalKind) -> Option<Signal> {
    signal(kind)
        .inspect_err(|err| tracing::warn!(signal = name, %err, "cannot install a signal handler; the signal keeps its default action"))
        .ok()
}

/// Resolves when the signal arrives; never where it has no stream (or its
/// stream has ended, which tokio does only when the runtime goes away).
async fn arrival(stream: &mut Option<Signal>) {
    if let Some(signals) = stream
        && signals.recv().await.is_some()
    {
        return;
    }
    std::future::pending().await
}
