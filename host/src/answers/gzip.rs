//! gzip responses whose expensive part is compressed once per answer.
//!
//! Every response that wants gzip from the same answer shares one raw
//! deflate stream of the answer's text ([`SharedDeflate`]), ended with a
//! sync flush: byte-aligned and not final, so that more deflate data may
//! follow it. Each response then wraps it in a gzip member of its own
//! ([`GzipReader`]): the header, the shared stream, its own tail (the
//! exporter's own series, which differ per response) as a final deflate
//! stream, and the trailer, whose CRC-32 combines the shared text's with the
//! tail's. One valid gzip member, as if the whole body had been compressed
//! at once (the technique pigz uses to compress pieces in parallel).

use super::output::{AbortOnDrop, Aborted, Held, Output, Reader};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use std::io::Write as _;
use std::sync::{Arc, OnceLock};

/// The fixed gzip header: deflate, no name, no modification time, unknown
/// operating system.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// An answer's text, deflated once for every gzip response.
pub struct SharedDeflate {
    output: Arc<Output>,
    /// CRC-32 and length of the text compressed, set before `output` is
    /// complete.
    text: OnceLock<TextSum>,
    level: Compression,
}

#[derive(Clone)]
struct TextSum {
    crc: crc32fast::Hasher,
    len: u64,
}

impl SharedDeflate {
    /// Starts compressing what `text` reads, on the blocking pool, chunk by
    /// chunk as it comes, into an output counted in `held`.
    pub fn start(mut text: Reader, level: Compression, held: &Arc<Held>) -> Arc<Self> {
        let shared = Arc::new(Self {
            output: Output::new(held),
            text: OnceLock::new(),
            level,
        });
        let compressing = shared.clone();
        tokio::spawn(async move {
            // A panic or a cancelled task must not leave readers waiting.
            let abort_unless_finished = AbortOnDrop(compressing.output.clone());
            let mut compressor = Compressor::new(level);
            loop {
                let chunk = match text.next().await {
                    Ok(chunk) => chunk,
                    Err(Aborted) => return,
                };
                // Compression is CPU work: keep it off the async workers.
                let step = tokio::task::spawn_blocking(move || compressor.feed(chunk)).await;
                let (bytes, next) = match step {
                    Ok(Ok(fed)) => fed,
                    Ok(Err(err)) => {
                        tracing::error!(%err, "compressing the answer failed");
                        return;
                    }
                    Err(err) => {
                        tracing::error!(%err, "compression task failed");
                        return;
                    }
                };
                compressing.output.push(bytes);
                match next {
                    Next::More(next) => compressor = next,
                    Next::Done(sum) => {
                        // Before `finish`: readers take the sum once the
                        // stream is complete.
                        let _ = compressing.text.set(sum);
                        compressing.output.finish();
                        drop(abort_unless_finished);
                        return;
                    }
                }
            }
        });
        shared
    }

    /// The compressed stream.
    pub fn output(&self) -> Arc<Output> {
        self.output.clone()
    }

    /// A response reading the shared stream from its start; `None` once
    /// the stream has dropped a chunk.
    pub fn join(self: &Arc<Self>) -> Option<GzipReader> {
        let reader = self.output.join()?;
        Some(GzipReader {
            shared: self.clone(),
            reader,
            tail: Bytes::new(),
            stage: Stage::Header,
        })
    }
}

/// Deflates the answer's text as it comes, keeping its CRC-32 and length.
struct Compressor {
    encoder: DeflateEncoder<Vec<u8>>,
    sum: TextSum,
}

impl Compressor {
    fn new(level: Compression) -> Self {
        Self {
            encoder: DeflateEncoder::new(Vec::new(), level),
            sum: TextSum {
                crc: crc32fast::Hasher::new(),
                len: 0,
            },
        }
    }

    /// Compresses `chunk`; without one, ends the stream with a sync flush
    /// and gives the text's sum instead of the compressor.
    fn feed(mut self, chunk: Option<Bytes>) -> std::io::Result<(Bytes, Next)> {
        match chunk {
            Some(chunk) => {
                self.sum.crc.update(&chunk);
                self.sum.len += chunk.len() as u64;
                self.encoder.write_all(&chunk)?;
                let produced = std::mem::take(self.encoder.get_mut());
                Ok((Bytes::from(produced), Next::More(self)))
            }
            None => {
                // flate2's `flush` is a sync flush: an empty stored block
                // that ends on a byte boundary, with no final block.
                self.encoder.flush()?;
                let produced = std::mem::take(self.encoder.get_mut());
                Ok((Bytes::from(produced), Next::Done(self.sum)))
            }
        }
    }
}

/// What follows a step of compression.
enum Next {
    More(Compressor),
    /// The text is all compressed; its sum.
    Done(TextSum),
}

enum Stage {
    Header,
    Shared,
    Done,
}

/// One gzip response: the header, the shared stream, the tail, the trailer.
pub struct GzipReader {
    shared: Arc<SharedDeflate>,
    reader: Reader,
    tail: Bytes,
    stage: Stage,
}

impl GzipReader {
    /// Ends the response with `tail` after the shared text.
    pub fn with_tail(mut self, tail: Bytes) -> Self {
        self.tail = tail;
        self
    }

    /// The next bytes of the response; `Ok(None)` once it is complete.
    pub async fn next(&mut self) -> Result<Option<Bytes>, Aborted> {
        match self.stage {
            Stage::Header => {
                self.stage = Stage::Shared;
                Ok(Some(Bytes::from_static(&HEADER)))
            }
            Stage::Shared => match self.reader.next().await? {
                Some(chunk) => Ok(Some(chunk)),
                None => {
                    self.stage = Stage::Done;
                    // Set before the shared stream was finished.
                    let text = self.shared.text.get().cloned().ok_or(Aborted)?;
                    let end = finish(text, &self.tail, self.shared.level).map_err(|err| {
                        tracing::error!(%err, "compressing the response's tail failed");
                        Aborted
                    })?;
                    Ok(Some(end))
                }
            },
            Stage::Done => Ok(None),
        }
    }
}

/// The tail as a final deflate stream of its own (small: compressed in
/// place), then the trailer over the shared text and the tail.
fn finish(mut text: TextSum, tail: &[u8], level: Compression) -> std::io::Result<Bytes> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(tail.len() / 2 + 64), level);
    encoder.write_all(tail)?;
    let mut end = encoder.finish()?;
    let mut tail_crc = crc32fast::Hasher::new();
    tail_crc.update(tail);
    text.crc.combine(&tail_crc);
    let len = text.len + tail.len() as u64;
    end.extend_from_slice(&text.crc.finalize().to_le_bytes());
    // ISIZE is the length modulo 2^32.
    end.extend_from_slice(&(len as u32).to_le_bytes());
    Ok(Bytes::from(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    async fn read_all(mut reader: GzipReader) -> Vec<u8> {
        let mut got = Vec::new();
        while let Some(chunk) = reader.next().await.expect("not aborted") {
            got.extend_from_slice(&chunk);
        }
        got
    }

    fn gunzip_one_member(body: &[u8]) -> Vec<u8> {
        // `GzDecoder` reads one member only: anything after it is left
        // unread, which the length check below catches.
        let mut decoder = flate2::bufread::GzDecoder::new(body);
        let mut text = Vec::new();
        decoder
            .read_to_end(&mut text)
            .expect("one valid gzip member");
        assert!(decoder.into_inner().is_empty(), "bytes after the member");
        text
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn responses_sharing_a_stream_each_decode_to_text_and_own_tail() {
        let held = Held::new(usize::MAX, 0);
        let (text, reader) = Output::start(&held);
        let shared = SharedDeflate::start(reader, Compression::new(1), &held);
        let readers: Vec<GzipReader> = (0..3)
            .map(|i| {
                let reader = shared.join().expect("joinable");
                reader.with_tail(Bytes::from(format!("tail {i}\n")))
            })
            .collect();
        let pieces: Vec<Vec<u8>> = (0..40u32)
            .map(|i| format!("line {i} {}\n", "x".repeat(i as usize * 997)).into_bytes())
            .collect();
        for piece in &pieces {
            text.push(Bytes::from(piece.clone()));
        }
        text.finish();
        let whole: Vec<u8> = pieces.concat();
        for (i, reader) in readers.into_iter().enumerate() {
            let mut want = whole.clone();
            want.extend_from_slice(format!("tail {i}\n").as_bytes());
            assert_eq!(gunzip_one_member(&read_all(reader).await), want);
        }
    }

    #[tokio::test]
    async fn empty_text_and_empty_tail_still_make_one_valid_member() {
        let held = Held::new(usize::MAX, 0);
        let (text, reader) = Output::start(&held);
        let shared = SharedDeflate::start(reader, Compression::new(1), &held);
        let gzip = shared.join().expect("joinable");
        text.finish();
        assert_eq!(gunzip_one_member(&read_all(gzip).await), b"");
    }

    #[tokio::test]
    async fn an_aborted_text_aborts_the_responses() {
        let held = Held::new(usize::MAX, 0);
        let (text, reader) = Output::start(&held);
        let shared = SharedDeflate::start(reader, Compression::new(1), &held);
        let mut gzip = shared.join().expect("joinable");
        text.push(Bytes::from_static(b"some text\n"));
        text.abort();
        let mut failed = false;
        for _ in 0..4 {
            if gzip.next().await.is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed, "an aborted answer must not end as a whole response");
    }
}
