//! Streaming transfers between blocking code (the archive's encryptor and decryptor) and S3.
//!
//! Downloads: a task reads the object's body and hands chunks to an [`ObjectReader`], a plain
//! `Read`. Uploads: an [`ObjectWriter`] (a plain `Write`) cuts the stream into parts of
//! [`PART_SIZE`]; a task sends an object of one part with a single conditional `PutObject`,
//! and a larger one as a multipart upload with up to [`PARALLEL_PARTS`] parts in flight,
//! made conditional on `CompleteMultipartUpload`, and aborted on any failure so no parts are
//! left behind. Memory stays bounded by the parts in flight, whatever the object's size.
//!
//! Both ends block on channels, so they must run on a blocking thread
//! (`tokio::task::spawn_blocking`), never on the async runtime itself.

use super::{S3Error, S3Location, S3Store, WriteCondition, Written, classify};
use crate::progress::Progress;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use std::io::{Read, Write};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Size of each part of a multipart upload (S3's minimum is 5 MiB, except the last).
pub const PART_SIZE: usize = 8 << 20;
/// Parts uploaded at the same time.
pub const PARALLEL_PARTS: usize = 4;

/// An object being read, as a blocking `Read`.
pub struct ObjectReader {
    chunks: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    current: Bytes,
    /// The object's ETag, for a later `If-Match`.
    pub etag: Option<String>,
    /// Its size, where the server said.
    pub size: Option<u64>,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = self.current.len().min(buf.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// What the writer sends to the upload task.
enum Piece {
    Part(Vec<u8>),
    /// The stream ended normally; anything else (the channel closing) means the producer
    /// failed and the upload must be abandoned.
    End,
}

/// An object being written, as a blocking `Write`. Nothing becomes visible in the bucket
/// unless [`ObjectWriter::finish`] is called and the upload's condition holds.
pub struct ObjectWriter {
    parts: mpsc::Sender<Piece>,
    buf: Vec<u8>,
    sent_any: bool,
}

impl ObjectWriter {
    fn send(&mut self, piece: Piece) -> std::io::Result<()> {
        self.sent_any = true;
        self.parts.blocking_send(piece).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the upload stopped (its error is reported separately)",
            )
        })
    }

    /// [`Write::write_all`] for async callers (feeding a stream from the network).
    pub async fn write_all_async(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            if self.buf.len() == PART_SIZE {
                let full = std::mem::replace(&mut self.buf, Vec::with_capacity(PART_SIZE));
                self.send_async(Piece::Part(full)).await?;
            }
            let n = (PART_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(())
    }

    /// [`ObjectWriter::finish`] for async callers.
    pub async fn finish_async(mut self) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.buf);
        if !rest.is_empty() || !self.sent_any {
            self.send_async(Piece::Part(rest)).await?;
        }
        self.send_async(Piece::End).await
    }

    async fn send_async(&mut self, piece: Piece) -> std::io::Result<()> {
        self.sent_any = true;
        self.parts.send(piece).await.map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the upload stopped (its error is reported separately)",
            )
        })
    }

    /// Send what is left and mark the end of the object.
    pub fn finish(mut self) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.buf);
        if !rest.is_empty() || !self.sent_any {
            self.send(Piece::Part(rest))?;
        }
        self.send(Piece::End)
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() == PART_SIZE {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(PART_SIZE));
            self.send(Piece::Part(full))?;
        }
        let n = (PART_SIZE - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The upload task; await it after the writer finished (or failed).
pub struct Upload {
    task: tokio::task::JoinHandle<Result<Written, S3Error>>,
    location: S3Location,
}

impl Upload {
    /// The upload's outcome.
    pub async fn wait(self) -> Result<Written, S3Error> {
        self.task.await.unwrap_or_else(|e| {
            Err(S3Error::Other {
                location: self.location,
                code: "internal".into(),
                message: format!("the upload task failed: {e}"),
            })
        })
    }
}

impl S3Store {
    /// Start reading an object; its bytes arrive through the returned reader.
    pub async fn reader(
        &self,
        location: &S3Location,
        progress: Progress,
    ) -> Result<ObjectReader, S3Error> {
        let out = self.get_object(location).await?;
        let etag = out.e_tag().map(str::to_string);
        let size = out.content_length().and_then(|n| u64::try_from(n).ok());
        progress.set_total(size);
        let (tx, rx) = mpsc::channel(8);
        let mut body = out.body;
        tokio::spawn(async move {
            loop {
                let item = match body.next().await.transpose() {
                    Ok(Some(chunk)) => {
                        progress.add(chunk.len() as u64);
                        Ok(chunk)
                    }
                    Ok(None) => break,
                    Err(e) => Err(std::io::Error::other(format!(
                        "the S3 download broke off: {e}"
                    ))),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
            progress.done();
        });
        Ok(ObjectReader {
            chunks: rx,
            current: Bytes::new(),
            etag,
            size,
        })
    }

    /// Start writing an object under `condition`; feed the returned writer from a blocking
    /// thread, call its `finish`, then await the [`Upload`].
    pub fn writer(
        &self,
        location: &S3Location,
        condition: WriteCondition,
        progress: Progress,
    ) -> (ObjectWriter, Upload) {
        let (tx, rx) = mpsc::channel(1);
        let store = self.clone();
        let at = location.clone();
        let task = tokio::spawn(async move {
            let result = store.upload(&at, &condition, rx, &progress).await;
            progress.done();
            result
        });
        (
            ObjectWriter {
                parts: tx,
                buf: Vec::with_capacity(PART_SIZE),
                sent_any: false,
            },
            Upload {
                task,
                location: location.clone(),
            },
        )
    }

    async fn upload(
        &self,
        location: &S3Location,
        condition: &WriteCondition,
        mut parts: mpsc::Receiver<Piece>,
        progress: &Progress,
    ) -> Result<Written, S3Error> {
        let abandoned = || S3Error::Abandoned(location.clone());
        let Some(Piece::Part(first)) = parts.recv().await else {
            return Err(abandoned());
        };
        let second = match parts.recv().await {
            Some(Piece::Part(p)) => p,
            Some(Piece::End) => {
                // One part: a single conditional PutObject.
                let len = first.len() as u64;
                let written = self.put(location, first, condition).await?;
                progress.add(len);
                return Ok(written);
            }
            None => return Err(abandoned()),
        };
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&location.bucket)
            .key(&location.key)
            .content_type("application/octet-stream")
            .send()
            .await
            .map_err(|e| classify(e, location))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let result = self
            .upload_parts(
                location,
                &upload_id,
                condition,
                [first, second],
                parts,
                progress,
            )
            .await;
        if result.is_err() {
            // Best effort: the parts would otherwise be kept (and billed) until a lifecycle
            // rule removes them.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&location.bucket)
                .key(&location.key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    async fn upload_parts(
        &self,
        location: &S3Location,
        upload_id: &str,
        condition: &WriteCondition,
        first_two: [Vec<u8>; 2],
        mut parts: mpsc::Receiver<Piece>,
        progress: &Progress,
    ) -> Result<Written, S3Error> {
        let mut in_flight = JoinSet::new();
        let mut done: Vec<CompletedPart> = Vec::new();
        let mut number = 0i32;
        let mut queued: std::collections::VecDeque<Vec<u8>> = first_two.into();
        loop {
            let next = match queued.pop_front() {
                Some(part) => Some(part),
                None => match parts.recv().await {
                    Some(Piece::Part(part)) => Some(part),
                    Some(Piece::End) => None,
                    None => return Err(S3Error::Abandoned(location.clone())),
                },
            };
            let Some(bytes) = next else { break };
            while in_flight.len() >= PARALLEL_PARTS {
                done.push(join_part(&mut in_flight, location).await?);
            }
            number += 1;
            let request = self
                .client
                .upload_part()
                .bucket(&location.bucket)
                .key(&location.key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(bytes.len() as i64);
            let len = bytes.len() as u64;
            let progress = progress.clone();
            let at = location.clone();
            let part_number = number;
            in_flight.spawn(async move {
                let out = request
                    .body(ByteStream::from(bytes))
                    .send()
                    .await
                    .map_err(|e| classify(e, &at))?;
                progress.add(len);
                Ok::<_, S3Error>(
                    CompletedPart::builder()
                        .part_number(part_number)
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .build(),
                )
            });
        }
        while !in_flight.is_empty() {
            done.push(join_part(&mut in_flight, location).await?);
        }
        done.sort_by_key(|p| p.part_number());
        let mut complete = self
            .client
            .complete_multipart_upload()
            .bucket(&location.bucket)
            .key(&location.key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            );
        complete = match condition {
            WriteCondition::CreateNew => complete.if_none_match("*"),
            WriteCondition::Replace(etag) => complete.if_match(etag),
            WriteCondition::Overwrite => complete,
        };
        let out = complete.send().await.map_err(|e| classify(e, location))?;
        Ok(Written {
            etag: out.e_tag().map(str::to_string),
            version_id: out.version_id().map(str::to_string),
        })
    }
}

async fn join_part(
    set: &mut JoinSet<Result<CompletedPart, S3Error>>,
    location: &S3Location,
) -> Result<CompletedPart, S3Error> {
    match set.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(S3Error::Other {
            location: location.clone(),
            code: "internal".into(),
            message: format!("a part upload task failed: {e}"),
        }),
        None => unreachable!("join_part is called only with parts in flight"),
    }
}
