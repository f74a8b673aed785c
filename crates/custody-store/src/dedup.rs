//! A derived on-disk hash table from submission signatures to entry indices, so that `append`
//! refuses a duplicate in O(1) reads whatever the log's size.
//!
//! File `dedup`: magic (8) || capacity u64 LE || count u64 LE || capacity slots of
//! (key u64 LE, index + 1 u64 LE); key = first 8 bytes of SHA-256(signature); index + 1 = 0 marks
//! an empty slot. It is a cache: rebuilt from the entries file whenever its count disagrees with
//! the log, never trusted over it (a hit is confirmed by reading the entry itself).

use custody_core::hash::Digest;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const MAGIC: &[u8; 8] = b"cdedup1\0";
const HEADER: u64 = 24;
const SLOT: u64 = 16;
const MIN_CAPACITY: u64 = 1024;

/// The probe key of a signature.
#[must_use]
pub fn key_of(signature: &[u8; 64]) -> u64 {
    let d = Digest::of(signature);
    let mut k = [0u8; 8];
    k.copy_from_slice(&d.0[..8]);
    u64::from_le_bytes(k)
}

/// The table, open on its file.
pub struct Dedup {
    file: File,
    capacity: u64,
    count: u64,
}

impl Dedup {
    /// Opens an existing table; `None` if it is missing, malformed or sized wrongly.
    pub fn open(file: File) -> io::Result<Option<Dedup>> {
        let mut head = [0u8; HEADER as usize];
        if file.read_exact_at(&mut head, 0).is_err() || &head[..8] != MAGIC {
            return Ok(None);
        }
        let capacity = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
        let count = u64::from_le_bytes(head[16..24].try_into().unwrap_or_default());
        let ok = capacity.is_power_of_two()
            && capacity >= MIN_CAPACITY
            && count <= capacity / 2
            && file.metadata()?.len() == HEADER + capacity.saturating_mul(SLOT);
        Ok(ok.then_some(Dedup {
            file,
            capacity,
            count,
        }))
    }

    /// Creates an empty table in `file` (truncating it) sized for `expected` entries.
    pub fn create(file: File, expected: u64) -> io::Result<Dedup> {
        let capacity = (expected.saturating_mul(2) + 1)
            .next_power_of_two()
            .max(MIN_CAPACITY);
        file.set_len(0)?;
        file.set_len(HEADER + capacity * SLOT)?;
        let d = Dedup {
            file,
            capacity,
            count: 0,
        };
        d.write_header()?;
        Ok(d)
    }

    /// Entries recorded.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    fn write_header(&self) -> io::Result<()> {
        let mut head = [0u8; HEADER as usize];
        head[..8].copy_from_slice(MAGIC);
        head[8..16].copy_from_slice(&self.capacity.to_le_bytes());
        head[16..24].copy_from_slice(&self.count.to_le_bytes());
        self.file.write_all_at(&head, 0)
    }

    fn slot(&self, i: u64) -> io::Result<(u64, u64)> {
        let mut b = [0u8; SLOT as usize];
        self.file.read_exact_at(&mut b, HEADER + i * SLOT)?;
        Ok((
            u64::from_le_bytes(b[..8].try_into().unwrap_or_default()),
            u64::from_le_bytes(b[8..].try_into().unwrap_or_default()),
        ))
    }

    /// Entry indices whose signature has this key (to be confirmed by the caller).
    pub fn candidates(&self, key: u64) -> io::Result<Vec<u64>> {
        let mask = self.capacity - 1;
        let mut i = key & mask;
        let mut out = Vec::new();
        loop {
            let (k, v) = self.slot(i)?;
            if v == 0 {
                return Ok(out);
            }
            if k == key {
                out.push(v - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// Records that entry `index` has signature key `key`, growing the table when half full.
    pub fn insert(&mut self, key: u64, index: u64) -> io::Result<()> {
        self.insert_many(&[(key, index)])
    }

    /// Records many (key, index) pairs, writing the header once.
    pub fn insert_many(&mut self, pairs: &[(u64, u64)]) -> io::Result<()> {
        for &(key, index) in pairs {
            if (self.count + 1) * 2 > self.capacity {
                self.grow()?;
            }
            self.put(key, index)?;
            self.count += 1;
        }
        self.write_header()
    }

    fn put(&self, key: u64, index: u64) -> io::Result<()> {
        let mask = self.capacity - 1;
        let mut i = key & mask;
        loop {
            let (_, v) = self.slot(i)?;
            if v == 0 {
                let mut b = [0u8; SLOT as usize];
                b[..8].copy_from_slice(&key.to_le_bytes());
                b[8..].copy_from_slice(&(index + 1).to_le_bytes());
                return self.file.write_all_at(&b, HEADER + i * SLOT);
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) -> io::Result<()> {
        // Read the old slots in chunks, then lay them out again at twice the capacity.
        let old_cap = self.capacity;
        let mut old = Vec::new();
        let chunk = 4096u64;
        let mut buf = vec![0u8; (chunk * SLOT) as usize];
        let mut i = 0;
        while i < old_cap {
            let n = chunk.min(old_cap - i);
            let part = &mut buf[..(n * SLOT) as usize];
            self.file.read_exact_at(part, HEADER + i * SLOT)?;
            for s in part.chunks_exact(SLOT as usize) {
                let k = u64::from_le_bytes(s[..8].try_into().unwrap_or_default());
                let v = u64::from_le_bytes(s[8..].try_into().unwrap_or_default());
                if v != 0 {
                    old.push((k, v - 1));
                }
            }
            i += n;
        }
        self.capacity = old_cap * 2;
        self.file.set_len(0)?;
        self.file.set_len(HEADER + self.capacity * SLOT)?;
        for (k, v) in old {
            self.put(k, v)?;
        }
        self.write_header()
    }
}
