//! The shutdown trigger: the first SIGINT or SIGTERM.

use tokio::signal::unix::{SignalKind, signal};

/// Resolves when SIGINT or SIGTERM arrives. If a handler cannot be
/// installed, that signal keeps its default action (the process ends).
pub async fn shutdown() {
    let wait = |kind: SignalKind| async move {
        match signal(kind) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot install a signal handler");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = wait(SignalKind::interrupt()) => tracing::info!(signal = "SIGINT", "shutting down"),
        () = wait(SignalKind::terminate()) => tracing::info!(signal = "SIGTERM", "shutting down"),
    }
}
