//! The configuration in force, and its reloads.

use super::{Error, Read, WebConfig, read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// The configuration in force, re-read when the file or a file it names
/// changes (checked on every connection and request, as exporter-toolkit
/// reads its file then). A change that fails to load is logged once and
/// the last good configuration stays.
pub struct Reloading {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

struct State {
    current: Arc<WebConfig>,
    /// The file and those it named when last read, good or bad: only
    /// these are stat'ed on each check, the file is read when one changed.
    watched: Vec<PathBuf>,
    /// What they looked like then.
    seen: Vec<Stamp>,
}

/// A file's identity and version: length, modification time, inode.
pub(super) type Stamp = Option<(u64, SystemTime, u64)>;

pub(super) fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?, meta.ino()))
}

fn stamps(paths: &[PathBuf]) -> Vec<Stamp> {
    paths.iter().map(|p| stamp(p)).collect()
}

impl Reloading {
    /// Loads `path` (none: no configuration); an error here stops
    /// start-up.
    pub fn start(path: Option<&Path>) -> Result<Self, Error> {
        let Some(path) = path else {
            return Ok(Self {
                path: None,
                state: Mutex::new(State {
                    current: Arc::new(WebConfig::none()),
                    watched: Vec::new(),
                    seen: Vec::new(),
                }),
            });
        };
        let Read {
            watched,
            seen,
            config,
        } = read(path);
        let current = Arc::new(config?);
        Ok(Self {
            path: Some(path.to_owned()),
            state: Mutex::new(State {
                current,
                watched,
                seen,
            }),
        })
    }

    /// Whether the listener speaks TLS (fixed at start-up).
    pub fn tls(&self) -> bool {
        self.lock().current.tls.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change is one assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration in force, re-read first if a file changed.
    pub fn current(&self) -> Arc<WebConfig> {
        let Some(path) = &self.path else {
            return self.lock().current.clone();
        };
        let mut state = self.lock();
        if stamps(&state.watched) == state.seen {
            return state.current.clone();
        }
        let read = read(path);
        state.watched = read.watched;
        state.seen = read.seen;
        match read.config {
            Ok(config) if config.tls.is_some() != state.current.tls.is_some() => {
                tracing::error!(path = %path.display(), "web configuration not reloaded: turning TLS on or off needs a restart; the last good configuration stays");
            }
            // A file being rewritten in place (truncated, then written) is
            // empty or cut short for a moment, and would load as "no
            // users": never let a reload open the door.
            Ok(config) if config.users.is_none() && state.current.users.is_some() => {
                tracing::error!(path = %path.display(), "web configuration not reloaded: turning basic auth off needs a restart; the last good configuration stays");
            }
            Ok(config) => {
                tracing::info!(path = %path.display(), "web configuration reloaded");
                state.current = Arc::new(config);
            }
            Err(err) => {
                tracing::error!(%err, "web configuration not reloaded; the last good configuration stays");
            }
        }
        state.current.clone()
    }
}
