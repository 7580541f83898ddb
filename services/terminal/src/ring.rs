//! A session's scrollback: the last `capacity` bytes of its output, addressed by offsets that
//! count every byte the session ever wrote (so an offset stays valid after older bytes are
//! dropped, and a client can say exactly where it left off).

use std::collections::VecDeque;

#[derive(Debug)]
pub struct Ring {
    bytes: VecDeque<u8>,
    capacity: usize,
    /// The offset after the newest byte.
    end: u64,
}

/// What [`Ring::read`] found.
#[derive(Debug, PartialEq, Eq)]
pub struct Read {
    /// The offset of the first byte of `data`.
    pub from: u64,
    pub data: Vec<u8>,
    /// The offset asked for was older than the oldest byte held.
    pub truncated: bool,
}

impl Ring {
    pub fn new(capacity: usize) -> Self {
        Self {
            // Grows as output comes: an idle session holds a few bytes, not its capacity.
            bytes: VecDeque::new(),
            capacity: capacity.max(1),
            end: 0,
        }
    }

    /// The offset after the newest byte: everything the session wrote so far.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The oldest offset still held.
    pub fn start(&self) -> u64 {
        self.end - self.bytes.len() as u64
    }

    /// Appends output, dropping the oldest bytes beyond the capacity.
    pub fn push(&mut self, data: &[u8]) {
        self.end += data.len() as u64;
        let data = &data[data.len().saturating_sub(self.capacity)..];
        let overflow = (self.bytes.len() + data.len()).saturating_sub(self.capacity);
        self.bytes.drain(..overflow);
        self.bytes.extend(data);
    }

    /// Up to `max` bytes from offset `from` (from the oldest held when that is newer; nothing
    /// when `from` is at or past the end).
    pub fn read(&self, from: u64, max: usize) -> Read {
        let start = self.start();
        let begin = from.clamp(start, self.end);
        let skip = usize::try_from(begin - start).unwrap_or(usize::MAX);
        let data: Vec<u8> = self.bytes.iter().skip(skip).take(max).copied().collect();
        Read {
            from: begin,
            data,
            truncated: from < start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_survive_what_the_ring_drops() {
        let mut ring = Ring::new(8);
        ring.push(b"hello ");
        assert_eq!((ring.start(), ring.end()), (0, 6));
        ring.push(b"world");
        assert_eq!((ring.start(), ring.end()), (3, 11));
        assert_eq!(
            ring.read(0, 100),
            Read {
                from: 3,
                data: b"lo world".to_vec(),
                truncated: true
            }
        );
        assert_eq!(ring.read(6, 3).data, b"wor");
        assert_eq!(ring.read(6, 3).from, 6);
        assert!(!ring.read(6, 3).truncated);
        assert!(ring.read(11, 10).data.is_empty());
        assert_eq!(ring.read(99, 10).from, 11);
    }

    #[test]
    fn a_push_larger_than_the_ring_keeps_its_tail() {
        let mut ring = Ring::new(4);
        ring.push(b"abcdefghij");
        assert_eq!((ring.start(), ring.end()), (6, 10));
        assert_eq!(ring.read(0, 10).data, b"ghij");
    }
}
