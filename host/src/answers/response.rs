//! One response's body: the answer it reads, then its own tail (the
//! exporter's own series, read for this response), plain or as one gzip
//! member.

use super::gzip::GzipReader;
use super::output::{Aborted, Reader};
use bytes::Bytes;

/// What a response reads, chunk by chunk.
pub enum Response {
    Plain { reader: Reader, tail: Option<Bytes> },
    Gzip(GzipReader),
}

impl Response {
    /// Ends the body with `tail` after the answer.
    pub fn with_tail(self, tail: Bytes) -> Self {
        match self {
            Response::Plain { reader, .. } => Response::Plain {
                reader,
                tail: Some(tail),
            },
            Response::Gzip(reader) => Response::Gzip(reader.with_tail(tail)),
        }
    }

    /// The next bytes of the body; `Ok(None)` once it is complete, an
    /// error when the answer failed after part of it was out (or this
    /// client fell too far behind): the body must not end as if whole.
    pub async fn next(&mut self) -> Result<Option<Bytes>, Aborted> {
        match self {
            Response::Plain { reader, tail } => match reader.next().await? {
                Some(chunk) => Ok(Some(chunk)),
                None => Ok(tail.take()),
            },
            Response::Gzip(reader) => reader.next().await,
        }
    }
}
