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

use tokio::signal::unix::{SignalKind, signal};
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
    tokio::spawn(async move {
        let first = stop_requested().await;
        sender.send_replace(Some(first));
        if first == Stop::Graceful {
            stop_requested().await;
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

/// Resolves with the first request to stop.
async fn stop_requested() -> Stop {
    // Never resolves: it only logs.
    let ignored = async {
        tokio::join!(
            ignore("SIGHUP", SignalKind::hangup()),
            ignore("SIGUSR1", SignalKind::user_defined1()),
            ignore("SIGUSR2", SignalKind::user_defined2()),
        );
    };
    tokio::select! {
        () = ignored => Stop::Graceful,
        () = wait("SIGINT", SignalKind::interrupt()) => Stop::Graceful,
        () = wait("SIGTERM", SignalKind::terminate()) => Stop::Graceful,
        () = wait("SIGQUIT", SignalKind::quit()) => Stop::Immediate,
    }
}

fn listen(name: &'static str, kind: SignalKind) -> Option<tokio::signal::unix::Signal> {
    signal(kind)
        .inspect_err(|err| tracing::warn!(signal = name, %err, "cannot install a signal handler; the signal keeps its default action"))
        .ok()
}

async fn wait(name: &'static str, kind: SignalKind) {
    match listen(name, kind) {
        Some(mut stream) => {
            stream.recv().await;
            tracing::info!(signal = name, "shutting down");
        }
        None => std::future::pending().await,
    }
}

async fn ignore(name: &'static str, kind: SignalKind) {
    if let Some(mut stream) = listen(name, kind) {
        while stream.recv().await.is_some() {
            tracing::info!(signal = name, "signal ignored");
        }
    }
    std::future::pending().await
}
