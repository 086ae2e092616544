//! The output of one collection, shared by every scrape that joins it
//! (single-flight): a queue of chunks that grows while the component renders,
//! read from the start by each response at its own pace.
//!
//! A chunk is released once every reader has taken it, so a lone fast reader
//! keeps only the chunks in transit. Since a newcomer must read from the
//! first chunk, a collection takes new readers only until it releases one;
//! a scrape arriving later starts a collection of its own. A burst of
//! scrapes arrives while the save command runs, long before the first chunk,
//! and shares one collection. A slow reader holds up no one: the chunks it
//! has yet to take stay queued, at most one copy of the exposition however
//! many readers share it.

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

#[derive(Default)]
pub struct Output {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    /// Chunks not yet taken by every reader; the first is number `released`.
    chunks: VecDeque<Bytes>,
    released: usize,
    /// Position (next chunk number) of each reader, by reader id.
    readers: HashMap<u64, usize>,
    next_reader: u64,
    end: Option<End>,
}

impl State {
    /// Registers a reader at the first chunk still queued; returns its id.
    fn add_reader(&mut self) -> u64 {
        let id = self.next_reader;
        self.next_reader += 1;
        self.readers.insert(id, self.released);
        id
    }

    /// Drops the chunks every reader has taken.
    fn release(&mut self) {
        let Some(&slowest) = self.readers.values().min() else {
            return;
        };
        while self.released < slowest && self.chunks.pop_front().is_some() {
            self.released += 1;
        }
    }
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

    /// A new output and its first reader.
    pub fn start() -> (Arc<Self>, Reader) {
        let output = Self::new();
        let id = output.lock().add_reader();
        let reader = Reader {
            output: output.clone(),
            id,
        };
        (output, reader)
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
        self.lock().chunks.push_back(chunk);
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

    /// A reader from the first chunk, unless a chunk has been released
    /// or the output has ended: a newcomer then needs a collection of its own.
    pub fn join(self: &Arc<Self>) -> Option<Reader> {
        let mut state = self.lock();
        if state.released > 0 || state.end.is_some() {
            return None;
        }
        let id = state.add_reader();
        Some(Reader {
            output: self.clone(),
            id,
        })
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
    id: u64,
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut state = self.output.lock();
        state.readers.remove(&self.id);
        state.release();
    }
}

impl Reader {
    /// The next chunk; `Ok(None)` once the output is complete.
    pub async fn next(&mut self) -> Result<Option<Bytes>, Aborted> {
        loop {
            // Registered before looking, so a push in between is not missed.
            let changed = self.output.changed.notified();
            {
                let mut state = self.output.lock();
                if state.end == Some(End::Aborted) {
                    return Err(Aborted);
                }
                let position = state
                    .readers
                    .get(&self.id)
                    .copied()
                    .unwrap_or(state.released);
                if let Some(chunk) = state.chunks.get(position - state.released).cloned() {
                    state.readers.insert(self.id, position + 1);
                    state.release();
                    return Ok(Some(chunk));
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

    async fn read_all(reader: &mut Reader) -> Vec<u8> {
        let mut got = Vec::new();
        while let Some(chunk) = reader.next().await.expect("not aborted") {
            got.extend_from_slice(&chunk);
        }
        got
    }

    fn queued(output: &Output) -> usize {
        output.lock().chunks.len()
    }

    #[tokio::test]
    async fn every_reader_gets_every_chunk_from_the_start() {
        let output = Output::new();
        let mut early = output.join().expect("joinable");
        output.push(Bytes::from_static(b"a"));
        let mut late = output.join().expect("nothing released yet");
        output.push(Bytes::from_static(b"b"));
        output.finish();
        assert_eq!(read_all(&mut early).await, b"ab");
        assert_eq!(read_all(&mut late).await, b"ab");
    }

    #[tokio::test]
    async fn taken_chunks_are_released_and_close_the_output_to_newcomers() {
        let output = Output::new();
        let mut fast = output.join().expect("joinable");
        let mut slow = output.join().expect("joinable");
        output.push(Bytes::from_static(b"1"));
        output.push(Bytes::from_static(b"2"));
        fast.next().await.expect("chunk");
        fast.next().await.expect("chunk");
        assert_eq!(queued(&output), 2, "the slow reader still needs both");
        assert!(output.join().is_some(), "nothing released yet");
        slow.next().await.expect("chunk");
        assert_eq!(queued(&output), 1);
        assert!(output.join().is_none(), "a newcomer would miss chunk 1");
        drop(slow);
        assert_eq!(queued(&output), 0, "a vanished reader holds nothing");
    }

    #[tokio::test]
    async fn a_reader_waits_for_chunks_pushed_later() {
        let output = Output::new();
        let mut reader = output.join().expect("joinable");
        let producer = {
            let output = output.clone();
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                output.push(Bytes::from_static(b"late"));
                output.finish();
            })
        };
        assert_eq!(read_all(&mut reader).await, b"late");
        producer.await.expect("producer");
        assert!(output.join().is_none(), "ended");
    }

    #[tokio::test]
    async fn abort_reaches_readers_even_after_chunks() {
        let output = Output::new();
        let mut reader = output.join().expect("joinable");
        output.push(Bytes::from_static(b"partial"));
        drop(AbortOnDrop(output.clone()));
        assert_eq!(reader.next().await, Err(Aborted));
    }

    #[tokio::test]
    async fn finish_then_abort_stays_complete() {
        let output = Output::new();
        let mut reader = output.join().expect("joinable");
        output.finish();
        output.abort();
        assert_eq!(reader.next().await, Ok(None));
    }
}
