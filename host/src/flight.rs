//! The output of one collection, shared by every scrape that arrives while
//! it runs (single-flight): a list of chunks that grows while the component
//! renders, read from the start by each response at its own pace.
//!
//! Chunks are kept until the collection ends and every reader is done, so a
//! slow reader never holds up the render or the other readers; the memory is
//! one copy of the exposition however many scrapes share it.

use bytes::Bytes;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

#[derive(Default)]
pub struct Output {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    chunks: Vec<Bytes>,
    end: Option<End>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Complete,
    /// Something failed after chunks were handed out: readers must not
    /// present what they got as a whole exposition.
    Aborted,
}

/// Why a reader stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the collection failed while its output was being sent")]
pub struct Aborted;

impl Output {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Writers push whole chunks, so the state stays consistent even if
        // one panicked while holding the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn push(&self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        self.lock().chunks.push(chunk);
        self.changed.notify_waiters();
    }

    pub fn finish(&self) {
        self.end(End::Complete);
    }

    pub fn abort(&self) {
        self.end(End::Aborted);
    }

    fn end(&self, end: End) {
        self.lock().end.get_or_insert(end);
        self.changed.notify_waiters();
    }

    pub fn is_finished(&self) -> bool {
        self.lock().end.is_some()
    }

    /// A reader from the first chunk.
    pub fn reader(self: &Arc<Self>) -> Reader {
        Reader {
            output: self.clone(),
            next: 0,
        }
    }
}

/// Ends the output as aborted if it was not ended otherwise, so that a
/// collection task that panics or is cancelled never leaves readers waiting.
pub struct AbortOnDrop(pub Arc<Output>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct Reader {
    output: Arc<Output>,
    next: usize,
}

impl Reader {
    /// The next chunk; `Ok(None)` once the output is complete.
    pub async fn next(&mut self) -> Result<Option<Bytes>, Aborted> {
        loop {
            // Registered before looking, so a push in between is not missed.
            let changed = self.output.changed.notified();
            {
                let state = self.output.lock();
                if state.end == Some(End::Aborted) {
                    return Err(Aborted);
                }
                if let Some(chunk) = state.chunks.get(self.next) {
                    self.next += 1;
                    return Ok(Some(chunk.clone()));
                }
                if state.end == Some(End::Complete) {
                    return Ok(None);
                }
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readers_get_every_chunk_from_the_start_whenever_they_join() {
        let output = Output::new();
        let mut early = output.reader();
        output.push(Bytes::from_static(b"a"));
        let mut late = output.reader();
        let producer = {
            let output = output.clone();
            tokio::spawn(async move {
                output.push(Bytes::from_static(b"b"));
                output.finish();
            })
        };
        for reader in [&mut early, &mut late] {
            let mut got = Vec::new();
            while let Some(chunk) = reader.next().await.expect("not aborted") {
                got.extend_from_slice(&chunk);
            }
            assert_eq!(got, b"ab");
        }
        producer.await.expect("producer");
        assert!(output.is_finished());
    }

    #[tokio::test]
    async fn abort_reaches_readers_even_after_chunks() {
        let output = Output::new();
        let mut reader = output.reader();
        output.push(Bytes::from_static(b"partial"));
        drop(AbortOnDrop(output.clone()));
        assert_eq!(reader.next().await, Err(Aborted));
    }

    #[tokio::test]
    async fn finish_then_abort_stays_complete() {
        let output = Output::new();
        output.finish();
        output.abort();
        assert_eq!(output.reader().next().await, Ok(None));
    }
}
