//! Standard streams that never lose output to a slow reader.
//!
//! Under Node's `node:wasi`, stdout may be a non-blocking pipe: when the
//! reader is slower than the writer, a write fails with `EAGAIN`
//! (`WouldBlock`) instead of waiting. [`RetryWriter`] waits ~1 ms and tries
//! again (and retries `Interrupted` at once), so every byte is written; any
//! other error (a closed pipe) is returned as it is. [`RetryReader`] does
//! the same for reads. `std::thread::sleep` works on wasm32-wasip1 (a
//! `poll_oneoff` on a clock), so this needs no threads.

use std::io::{self, ErrorKind, Read, Write};
use std::time::Duration;

/// How long to wait before trying a write (or read) that would block again.
pub const RETRY_PAUSE: Duration = Duration::from_millis(1);

/// A writer that retries writes and flushes that would block or were
/// interrupted.
pub struct RetryWriter<W> {
    inner: W,
}

impl<W: Write> RetryWriter<W> {
    pub fn new(inner: W) -> Self {
        RetryWriter { inner }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

/// Call `op` until it succeeds or fails with something other than
/// `WouldBlock` (wait, then retry) or `Interrupted` (retry at once).
fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(RETRY_PAUSE),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

impl<W: Write> Write for RetryWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        retry(|| self.inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        retry(|| self.inner.flush())
    }
}

/// A reader that retries reads that would block or were interrupted.
pub struct RetryReader<R> {
    inner: R,
}

impl<R: Read> RetryReader<R> {
    pub fn new(inner: R) -> Self {
        RetryReader { inner }
    }
}

impl<R: Read> Read for RetryReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        retry(|| self.inner.read(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts at most `chunk` bytes per write, and before each accepted
    /// write fails `stalls` times with WouldBlock (and once Interrupted).
    struct Flaky {
        out: Vec<u8>,
        chunk: usize,
        stalls: usize,
        pending: usize,
        interrupted: bool,
        flush_stalls: usize,
        fail_with: Option<ErrorKind>,
    }

    impl Flaky {
        fn new(chunk: usize, stalls: usize) -> Self {
            Flaky {
                out: Vec::new(),
                chunk,
                stalls,
                pending: stalls,
                interrupted: false,
                flush_stalls: 3,
                fail_with: None,
            }
        }
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(kind) = self.fail_with {
                return Err(kind.into());
            }
            if self.pending > 0 {
                self.pending -= 1;
                return Err(ErrorKind::WouldBlock.into());
            }
            if !self.interrupted {
                self.interrupted = true;
                return Err(ErrorKind::Interrupted.into());
            }
            self.pending = self.stalls;
            self.interrupted = false;
            let n = buf.len().min(self.chunk);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            if self.flush_stalls > 0 {
                self.flush_stalls -= 1;
                return Err(ErrorKind::WouldBlock.into());
            }
            Ok(())
        }
    }

    #[test]
    fn would_block_and_interrupted_are_retried_until_everything_is_written() {
        let text: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = RetryWriter::new(Flaky::new(4096, 3));
        w.write_all(&text).unwrap();
        w.flush().unwrap();
        let inner = w.into_inner();
        assert_eq!(inner.out, text);
        assert_eq!(inner.flush_stalls, 0);
    }

    #[test]
    fn real_errors_are_returned() {
        let mut flaky = Flaky::new(10, 2);
        flaky.fail_with = Some(ErrorKind::BrokenPipe);
        let mut w = RetryWriter::new(flaky);
        let e = w.write_all(b"hello").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    }

    #[test]
    fn reads_are_retried() {
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.1 += 1;
                if self.1 % 3 != 0 {
                    return Err(ErrorKind::WouldBlock.into());
                }
                let n = buf.len().min(self.0.len()).min(2);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut s = String::new();
        RetryReader::new(Slow(b"[1, 2]\n", 0))
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "[1, 2]\n");
    }
}
