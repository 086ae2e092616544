//! An answer's text (or its compressed stream), shared by every response
//! that reads it: a list of chunks that grows while the component renders,
//! read from the start by each response at its own pace.
//!
//! What is held, and for whom:
//! - A chunk every reader has taken is dropped, except the first
//!   `prefix` bytes (4 MiB in the server): while no chunk has been
//!   dropped, a scrape that wants the same answer joins it from the start
//!   and shares the rendering, even after the rendering has ended. A
//!   client that stops reading has taken a few hundred KB at most (what
//!   the socket buffers hold), so every stalled or slow client of the same
//!   answer shares one copy of its text instead of pinning one each.
//! - Once a chunk past the prefix has been dropped, a newcomer would miss
//!   it: the output takes no new readers (a later scrape gets a rendering
//!   of its own), and the prefix is dropped as its readers take it.
//! - A slow reader holds up no one: the chunks it has yet to take stay
//!   held. What all outputs hold is counted in a [`Held`] account; past
//!   its limit, the readers of the oldest outputs that still hold
//!   anything are cut off (their responses end in an error and their
//!   connections are reset), until the total is back under the limit.
//!   The newest output is never cut: its readers are the scrapes of now.
//!   Memory held for slow readers is thus bounded by the limit plus one
//!   answer.

use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use tokio::sync::Notify;

/// What every output holds together, and its limit.
pub struct Held {
    /// Bytes of chunks held by all outputs.
    total: AtomicUsize,
    /// Past this, readers of ended outputs are cut off.
    limit: usize,
    /// Bytes at the start of each output kept so that it can be joined.
    prefix: usize,
    /// Every output, oldest first (dropped ones are pruned).
    outputs: Mutex<Vec<Weak<Output>>>,
}

impl Held {
    pub fn new(limit: usize, prefix: usize) -> Arc<Self> {
        Arc::new(Self {
            total: AtomicUsize::new(0),
            limit,
            prefix,
            outputs: Mutex::new(Vec::new()),
        })
    }

    /// Bytes held by every output now.
    pub fn bytes(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    fn outputs(&self) -> MutexGuard<'_, Vec<Weak<Output>>> {
        // Every change is one push or one retain.
        self.outputs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cuts off readers furthest behind, oldest output first and never in
    /// the newest one (the answer the latest scrapes are reading), until
    /// the total is under the limit or no one is left to cut.
    fn shed(&self) {
        let outputs: Vec<Arc<Output>> = {
            let mut outputs = self.outputs();
            outputs.retain(|output| output.strong_count() > 0);
            let older = outputs.len().saturating_sub(1);
            outputs[..older].iter().filter_map(Weak::upgrade).collect()
        };
        for output in outputs {
            if self.bytes() <= self.limit {
                return;
            }
            output.cut_readers();
        }
    }
}

pub struct Output {
    state: Mutex<State>,
    changed: Notify,
    held: Arc<Held>,
}

#[derive(Default)]
struct State {
    /// Chunk `i`, until it is dropped.
    chunks: Vec<Option<Bytes>>,
    /// Chunks at the start kept while the output can be joined.
    prefix_chunks: usize,
    prefix_bytes: usize,
    /// Whether any chunk has been dropped: then no one may join.
    dropped_any: bool,
    /// Bytes of the chunks held.
    bytes: usize,
    /// Bytes of every chunk ever pushed.
    pushed: usize,
    /// Position (next chunk number) of each reader, by reader id.
    readers: HashMap<u64, usize>,
    /// Readers cut off to bring what is held under the limit.
    cut: HashSet<u64>,
    next_reader: u64,
    end: Option<End>,
}

impl State {
    /// Registers a reader at the first chunk; returns its id.
    fn add_reader(&mut self) -> u64 {
        let id = self.next_reader;
        self.next_reader += 1;
        self.readers.insert(id, 0);
        id
    }

    /// Drops the chunks every reader has taken, but the prefix while the
    /// output can still be joined; returns the bytes dropped.
    fn release(&mut self) -> usize {
        let Some(&slowest) = self.readers.values().min() else {
            return 0;
        };
        let mut freed = 0;
        let keep = if self.dropped_any {
            0
        } else {
            self.prefix_chunks
        };
        for chunk in self.chunks.iter_mut().take(slowest).skip(keep) {
            if let Some(chunk) = chunk.take() {
                freed += chunk.len();
                self.dropped_any = true;
            }
        }
        if self.dropped_any && keep > 0 {
            // No one can join any more: the prefix goes as it is taken.
            for chunk in self.chunks.iter_mut().take(slowest.min(keep)) {
                if let Some(chunk) = chunk.take() {
                    freed += chunk.len();
                }
            }
        }
        self.bytes -= freed;
        freed
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
#[error("the answer failed while it was being sent, or this client fell too far behind")]
pub struct Aborted;

impl Output {
    /// A new output, counted in `held`.
    pub fn new(held: &Arc<Held>) -> Arc<Self> {
        let output = Arc::new(Self {
            state: Mutex::default(),
            changed: Notify::new(),
            held: held.clone(),
        });
        held.outputs().push(Arc::downgrade(&output));
        output
    }

    /// A new output and its first reader.
    pub fn start(held: &Arc<Held>) -> (Arc<Self>, Reader) {
        let output = Self::new(held);
        let id = output.lock().add_reader();
        let reader = Reader {
            output: output.clone(),
            id,
        };
        (output, reader)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Writers change the state in whole steps, so it stays consistent
        // even if one panicked while holding the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn push(&self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        let len = chunk.len();
        let total = {
            let mut state = self.lock();
            if !state.dropped_any && state.prefix_chunks == state.chunks.len() {
                // Still within the prefix: kept for those who join later.
                if state.prefix_bytes < self.held.prefix {
                    state.prefix_chunks += 1;
                    state.prefix_bytes += len;
                }
            }
            state.pushed += len;
            if state.dropped_any && state.readers.is_empty() {
                // No one reads it and no one can join: a rendering still
                // going after its readers were cut off.
                state.chunks.push(None);
                return;
            }
            state.chunks.push(Some(chunk));
            state.bytes += len;
            // Counted before any reader can take it, and so release it.
            self.held.total.fetch_add(len, Ordering::Relaxed) + len
        };
        self.changed.notify_waiters();
        // Shed with no output's lock held.
        if total > self.held.limit {
            self.held.shed();
        }
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

    /// Whether [`Output::join`] would give a reader.
    pub fn joinable(&self) -> bool {
        let state = self.lock();
        !state.dropped_any && state.end != Some(End::Aborted)
    }

    /// A reader from the first chunk, unless a chunk has been dropped or
    /// the output was aborted: a newcomer then needs an answer of its own.
    pub fn join(self: &Arc<Self>) -> Option<Reader> {
        let mut state = self.lock();
        if state.dropped_any || state.end == Some(End::Aborted) {
            return None;
        }
        let id = state.add_reader();
        Some(Reader {
            output: self.clone(),
            id,
        })
    }

    /// Cuts off every reader, if it has any and holds anything: readers of
    /// one answer that lag together (clients that stalled on it) hold the
    /// same chunks, and only cutting them all frees them. Returns whether
    /// any was cut.
    fn cut_readers(&self) -> bool {
        let (cut, freed) = {
            let mut state = self.lock();
            if state.readers.is_empty() || state.bytes == 0 {
                return false;
            }
            let ids: Vec<u64> = state.readers.drain().map(|(id, _)| id).collect();
            state.cut.extend(ids.iter().copied());
            // No one can join what nobody holds any more.
            state.dropped_any = true;
            let mut freed = 0;
            for chunk in &mut state.chunks {
                if let Some(chunk) = chunk.take() {
                    freed += chunk.len();
                }
            }
            state.bytes = 0;
            (ids.len(), freed)
        };
        self.held.total.fetch_sub(freed, Ordering::Relaxed);
        crate::process::memory::give_back_freed_soon();
        tracing::warn!(
            clients = cut,
            freed_bytes = freed,
            held_bytes = self.held.bytes(),
            limit_bytes = self.held.limit,
            "cut off clients reading an older answer too slowly: the answers held for slow clients passed their limit"
        );
        self.changed.notify_waiters();
        true
    }

    /// Drops what all readers took and takes it off the account.
    fn release(&self, state: &mut State) {
        let freed = state.release();
        self.held.total.fetch_sub(freed, Ordering::Relaxed);
    }
}

/// An answer at least this large gives its memory back to the system when
/// it goes (see `memory`); a small one is not worth the call.
const GIVE_BACK_FROM_BYTES: usize = 1 << 20;

impl Drop for Output {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        self.held.total.fetch_sub(state.bytes, Ordering::Relaxed);
        let large = state.pushed >= GIVE_BACK_FROM_BYTES;
        // Its chunks are freed before the memory is given back.
        state.chunks = Vec::new();
        if large {
            crate::process::memory::give_back_freed_soon();
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
    id: u64,
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut state = self.output.lock();
        state.readers.remove(&self.id);
        state.cut.remove(&self.id);
        self.output.release(&mut state);
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
                if state.end == Some(End::Aborted) || state.cut.contains(&self.id) {
                    return Err(Aborted);
                }
                let position = state.readers.get(&self.id).copied().unwrap_or(0);
                if let Some(chunk) = state.chunks.get(position) {
                    // Chunks before a reader's position only are dropped.
                    let chunk = chunk.clone().ok_or(Aborted)?;
                    state.readers.insert(self.id, position + 1);
                    self.output.release(&mut state);
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

    /// An account that never cuts, with a prefix of `prefix` bytes.
    fn held(prefix: usize) -> Arc<Held> {
        Held::new(usize::MAX, prefix)
    }

    async fn read_all(reader: &mut Reader) -> Vec<u8> {
        let mut got = Vec::new();
        while let Some(chunk) = reader.next().await.expect("not aborted") {
            got.extend_from_slice(&chunk);
        }
        got
    }

    fn held_chunks(output: &Output) -> usize {
        output.lock().chunks.iter().flatten().count()
    }

    #[tokio::test]
    async fn every_reader_gets_every_chunk_from_the_start() {
        let output = Output::new(&held(0));
        let mut early = output.join().expect("joinable");
        output.push(Bytes::from_static(b"a"));
        let mut late = output.join().expect("nothing dropped yet");
        output.push(Bytes::from_static(b"b"));
        output.finish();
        assert_eq!(read_all(&mut early).await, b"ab");
        assert_eq!(read_all(&mut late).await, b"ab");
    }

    #[tokio::test]
    async fn taken_chunks_are_dropped_and_close_the_output_to_newcomers() {
        let held = held(0);
        let output = Output::new(&held);
        let mut fast = output.join().expect("joinable");
        let mut slow = output.join().expect("joinable");
        output.push(Bytes::from_static(b"1"));
        output.push(Bytes::from_static(b"2"));
        fast.next().await.expect("chunk");
        fast.next().await.expect("chunk");
        assert_eq!(held_chunks(&output), 2, "the slow reader still needs both");
        assert!(output.join().is_some(), "nothing dropped yet");
        slow.next().await.expect("chunk");
        assert_eq!(held_chunks(&output), 1);
        assert!(output.join().is_none(), "a newcomer would miss chunk 1");
        drop(slow);
        assert_eq!(held_chunks(&output), 0, "a vanished reader holds nothing");
        assert_eq!(held.bytes(), 0);
    }

    #[tokio::test]
    async fn the_prefix_keeps_an_answer_joinable_after_its_end_while_no_one_is_past_it() {
        let held = held(4);
        let output = Output::new(&held);
        let mut stalled = output.join().expect("joinable");
        for chunk in ["ab", "cd", "ef"] {
            output.push(Bytes::from(chunk));
        }
        output.finish();
        // The stalled reader took one chunk, inside the prefix.
        assert_eq!(stalled.next().await, Ok(Some(Bytes::from("ab"))));
        let mut late = output.join().expect("the whole answer is still held");
        assert_eq!(read_all(&mut late).await, b"abcdef");
        // Once a reader has taken a chunk past the prefix and the others
        // have too, that chunk goes, and with it the chance to join.
        assert_eq!(read_all(&mut stalled).await, b"cdef");
        assert!(output.join().is_none());
        drop((stalled, late));
        assert_eq!(held.bytes(), 0);
    }

    #[tokio::test]
    async fn a_reader_waits_for_chunks_pushed_later() {
        let output = Output::new(&held(0));
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
    }

    #[tokio::test]
    async fn abort_reaches_readers_even_after_chunks() {
        let output = Output::new(&held(0));
        let mut reader = output.join().expect("joinable");
        output.push(Bytes::from_static(b"partial"));
        drop(AbortOnDrop(output.clone()));
        assert_eq!(reader.next().await, Err(Aborted));
        assert!(
            output.join().is_none(),
            "an aborted answer is joined by no one"
        );
    }

    #[tokio::test]
    async fn finish_then_abort_stays_complete() {
        let output = Output::new(&held(0));
        let mut reader = output.join().expect("joinable");
        output.finish();
        output.abort();
        assert_eq!(reader.next().await, Ok(None));
    }

    #[tokio::test]
    async fn past_the_limit_the_readers_of_older_answers_are_cut() {
        // Room for 10 bytes held.
        let held = Held::new(10, 0);
        let old = Output::new(&held);
        let mut stalled_old = old.join().expect("joinable");
        old.push(Bytes::from_static(b"123456"));
        let new = Output::new(&held);
        let mut stalled_new = new.join().expect("joinable");
        new.push(Bytes::from_static(b"abcdef"));
        // 12 bytes held: the old answer's reader goes, not the new one's.
        assert_eq!(held.bytes(), 6);
        assert_eq!(stalled_old.next().await, Err(Aborted));
        new.push(Bytes::from_static(b"ghijkl"));
        assert_eq!(held.bytes(), 12, "the newest answer is never cut");
        new.finish();
        assert_eq!(read_all(&mut stalled_new).await, b"abcdefghijkl");
        assert_eq!(held.bytes(), 0);
        // The old rendering goes on, with no one left to read it: nothing
        // of it is held.
        old.push(Bytes::from_static(b"789"));
        old.finish();
        assert_eq!(held.bytes(), 0);
        assert!(old.join().is_none());
    }
}
