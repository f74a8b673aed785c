//! A derived on-disk hash table from duplicate keys to entry indices, so that `append` and
//! `verify` find an entry's earlier copies (the same origin, signer and body, whatever the
//! claimed time: core's `rules::duplicates`) in O(1) reads whatever the log's size.
//!
//! File `dedup`: magic (8) || capacity u64 LE || count u64 LE || capacity slots of
//! (key u64 LE, index + 1 u64 LE); key = first 8 bytes of the entry's duplicate key; index + 1
//! = 0 marks an empty slot. (Magic `cdedup1` tables were keyed by the signed message; they are
//! not this table, and are rebuilt.) It is a cache: rebuilt from the entries file whenever its count disagrees with
//! the log, never trusted over it (a hit is confirmed by reading the entry itself).
//!
//! Like every file of a ledger directory it is untrusted input: every probe sequence stops after
//! `capacity` slots, so a table whose slots are all filled (which a table kept at most half full
//! never is) is an [`io::ErrorKind::InvalidData`] error, never an endless loop. Such a table is
//! marked unreadable at once, so the next open for writing rebuilds it from the entries file.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const MAGIC: &[u8; 8] = b"cdedup2\0";
const HEADER: u64 = 24;
const SLOT: u64 = 16;
const MIN_CAPACITY: u64 = 1024;

/// The table, open on its file.
pub struct Dedup {
    file: File,
    capacity: u64,
    count: u64,
}

impl Dedup {
    /// Opens an existing table; `None` if it is missing, malformed or sized wrongly (the caller
    /// then creates it afresh).
    ///
    /// # Errors
    /// If the file's size cannot be read.
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
            && Some(file.metadata()?.len()) == file_len(capacity);
        Ok(ok.then_some(Dedup {
            file,
            capacity,
            count,
        }))
    }

    /// Creates an empty table in `file` (truncating it) sized for `expected` entries.
    ///
    /// # Errors
    /// On I/O failure, or [`io::ErrorKind::InvalidInput`] if `expected` is absurdly large.
    pub fn create(file: File, expected: u64) -> io::Result<Dedup> {
        let capacity = capacity_for(expected)?;
        file.set_len(0)?;
        file.set_len(HEADER + capacity * SLOT)?; // capacity_for checked it fits
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

    /// Entry indices whose signature has this key (to be confirmed by the caller).
    ///
    /// # Errors
    /// On I/O failure, or [`io::ErrorKind::InvalidData`] if the table is garbled (no empty slot
    /// in `capacity` probes).
    pub fn candidates(&self, key: u64) -> io::Result<Vec<u64>> {
        let mut out = Vec::new();
        self.probe(key, |k, v| {
            if k == key {
                out.push(v - 1);
            }
        })?;
        Ok(out)
    }

    /// Records that entry `index` has signature key `key`, growing the table when half full.
    ///
    /// # Errors
    /// As [`Dedup::insert_many`].
    pub fn insert(&mut self, key: u64, index: u64) -> io::Result<()> {
        self.insert_many(&[(key, index)])
    }

    /// Records many (key, index) pairs, writing the header once.
    ///
    /// # Errors
    /// On I/O failure, or [`io::ErrorKind::InvalidData`] if the table is garbled.
    pub fn insert_many(&mut self, pairs: &[(u64, u64)]) -> io::Result<()> {
        for &(key, index) in pairs {
            if (self.count + 1) * 2 > self.capacity {
                let doubled = self
                    .capacity
                    .checked_mul(2)
                    .ok_or_else(|| too_large(self.count))?;
                self.rebuild(doubled)?;
            }
            self.put(key, index)?;
            self.count += 1;
        }
        self.write_header()
    }

    /// Grows the table once, if need be, so that `total` entries (those already in it
    /// included) fit at load factor 1/2 without growing again: a bulk import that knows its
    /// final size lays the table out once instead of doubling it log2(n) times.
    ///
    /// # Errors
    /// On I/O failure, [`io::ErrorKind::InvalidInput`] if `total` is absurdly large, or
    /// [`io::ErrorKind::InvalidData`] if the table is garbled.
    pub fn reserve(&mut self, total: u64) -> io::Result<()> {
        let capacity = capacity_for(total)?;
        if capacity > self.capacity {
            self.rebuild(capacity)?;
        }
        Ok(())
    }

    /// Writes `key -> index` into the first empty slot of `key`'s probe sequence.
    fn put(&self, key: u64, index: u64) -> io::Result<()> {
        let i = self.probe(key, |_, _| {})?;
        let mut b = [0u8; SLOT as usize];
        b[..8].copy_from_slice(&key.to_le_bytes());
        b[8..].copy_from_slice(&(index + 1).to_le_bytes());
        self.file.write_all_at(&b, HEADER + i * SLOT)
    }

    /// Walks `key`'s probe sequence (linear probing from `key mod capacity`), calling `visit`
    /// with each filled slot's (key, index + 1), and returns the first empty slot. Reads runs
    /// of slots that double in length (8 up to 4096), so a short sequence costs one small read
    /// and a long one is not a read per slot. At most `capacity` slots are probed: a table with
    /// none empty among them is garbled, an error, never an endless loop.
    fn probe(&self, key: u64, mut visit: impl FnMut(u64, u64)) -> io::Result<u64> {
        let mask = self.capacity - 1;
        let mut i = key & mask;
        let mut left = self.capacity;
        let mut run = 8u64;
        let mut buf = Vec::new();
        while left > 0 {
            // A run never wraps past the last slot; the next one starts again at slot 0.
            let n = run.min(left).min(self.capacity - i);
            buf.resize((n * SLOT) as usize, 0);
            self.file.read_exact_at(&mut buf, HEADER + i * SLOT)?;
            for (j, s) in (0u64..).zip(buf.chunks_exact(SLOT as usize)) {
                let (k, v) = decode(s);
                if v == 0 {
                    return Ok(i + j);
                }
                visit(k, v);
            }
            left -= n;
            i = (i + n) & mask;
            run = (run * 2).min(4096);
        }
        Err(self.garbled(format!(
            "all {} slots probed hold an entry (it records {} entries and is never more than half full)",
            self.capacity, self.count
        )))
    }

    /// The error for a table that cannot be what custody wrote. The table is marked unreadable
    /// first (its magic cleared), so the next open for writing rebuilds it from the entries
    /// file rather than trusting it again.
    fn garbled(&self, why: String) -> io::Error {
        // Best effort: if even this write fails, the error below still stops the caller.
        self.file.write_all_at(&[0u8; 8], 0).ok();
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the duplicate table (dedup) is garbled: {why}; it will be rebuilt from the entries file the next time the ledger is opened for writing"
            ),
        )
    }

    /// Lays the table out again at `capacity` slots (a power of two larger than the current
    /// one): reads the filled slots in chunks, then writes each into the new layout.
    fn rebuild(&mut self, capacity: u64) -> io::Result<()> {
        // The old slots go to an anonymous temporary file first, in chunks, and come back from
        // it in chunks: memory stays bounded however large the table (a Vec of every slot was
        // 128 MiB at 8 million entries, and showed as verify's peak memory).
        let old_cap = self.capacity;
        let chunk = 4096u64;
        let mut buf = vec![0u8; (chunk * SLOT) as usize];
        let copy = tempfile::tempfile()?;
        let mut i = 0;
        while i < old_cap {
            let n = chunk.min(old_cap - i);
            let part = &mut buf[..(n * SLOT) as usize];
            self.file.read_exact_at(part, HEADER + i * SLOT)?;
            copy.write_all_at(part, i * SLOT)?;
            i += n;
        }
        // More filled slots than `count` is possible after a crash between writing slots and
        // the header (the catch-up on the next open records those entries again); they are
        // only duplicate candidates, each confirmed by the caller, and all fit: `capacity` is
        // larger than the old one.
        let len = file_len(capacity).ok_or_else(|| too_large(self.count))?;
        self.capacity = capacity;
        self.file.set_len(0)?;
        self.file.set_len(len)?;
        let mut i = 0;
        while i < old_cap {
            let n = chunk.min(old_cap - i);
            let part = &mut buf[..(n * SLOT) as usize];
            copy.read_exact_at(part, i * SLOT)?;
            for s in part.chunks_exact(SLOT as usize) {
                let (k, v) = decode(s);
                if v != 0 {
                    self.put(k, v - 1)?;
                }
            }
            i += n;
        }
        self.write_header()
    }
}

/// One slot's (key, index + 1).
fn decode(slot: &[u8]) -> (u64, u64) {
    (
        u64::from_le_bytes(slot[..8].try_into().unwrap_or_default()),
        u64::from_le_bytes(slot[8..16].try_into().unwrap_or_default()),
    )
}

/// The capacity of a table for `n` entries: a power of two above `2n` (load factor at most
/// 1/2 when all are in), at least [`MIN_CAPACITY`], whose file size fits in a `u64`.
fn capacity_for(n: u64) -> io::Result<u64> {
    n.checked_mul(2)
        .and_then(|x| x.checked_add(1))
        .and_then(u64::checked_next_power_of_two)
        .map(|c| c.max(MIN_CAPACITY))
        .filter(|&c| file_len(c).is_some())
        .ok_or_else(|| too_large(n))
}

/// The file size of a table of `capacity` slots, if it fits in a `u64`.
fn file_len(capacity: u64) -> Option<u64> {
    capacity.checked_mul(SLOT)?.checked_add(HEADER)
}

fn too_large(n: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("a duplicate table for {n} entries would be too large"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use custody_core::hash::Digest;

    /// A probe key from any bytes, as the table's users derive theirs from a hash.
    fn key_of(bytes: &[u8]) -> u64 {
        let d = Digest::of(bytes);
        let mut k = [0u8; 8];
        k.copy_from_slice(&d.0[..8]);
        u64::from_le_bytes(k)
    }
    use std::time::{Duration, Instant};

    fn table(expected: u64) -> Dedup {
        Dedup::create(tempfile::tempfile().unwrap(), expected).unwrap()
    }

    /// A table whose header is well formed (count within half the capacity) but whose every
    /// slot holds an entry, written to the file directly as a hostile ledger would hold it.
    fn full_table() -> Dedup {
        let d = table(0);
        let mut slots = Vec::with_capacity((d.capacity * SLOT) as usize);
        for i in 0..d.capacity {
            slots.extend_from_slice(&(i * 7919).to_le_bytes());
            slots.extend_from_slice(&(i + 1).to_le_bytes());
        }
        d.file.write_all_at(&slots, HEADER).unwrap();
        let file = d.file.try_clone().unwrap();
        let d = Dedup::open(file)
            .unwrap()
            .expect("the header is well formed");
        assert_eq!(d.count, 0);
        d
    }

    fn assert_garbled(e: &io::Error, started: Instant) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        let msg = e.to_string();
        assert!(msg.contains("garbled") && msg.contains("rebuilt"), "{msg}");
    }

    #[test]
    fn inserted_keys_are_candidates_after_reopening() {
        let mut d = table(0);
        d.insert_many(&[(5, 0), (5, 1), (9, 2)]).unwrap();
        let d = Dedup::open(d.file.try_clone().unwrap()).unwrap().unwrap();
        assert_eq!(d.count(), 3);
        assert_eq!(d.candidates(5).unwrap(), vec![0, 1]);
        assert_eq!(d.candidates(9).unwrap(), vec![2]);
        assert!(d.candidates(6).unwrap().is_empty());
    }

    #[test]
    fn probing_wraps_around_the_end_of_the_table() {
        let mut d = table(0);
        let last = d.capacity - 1;
        d.insert_many(&[(last, 0), (last, 1), (last, 2)]).unwrap();
        assert_eq!(d.candidates(last).unwrap(), vec![0, 1, 2]);
        // Key 0's home slot was taken by the wrap-around; it probes on past it.
        d.insert(0, 3).unwrap();
        assert_eq!(d.candidates(0).unwrap(), vec![3]);
    }

    #[test]
    fn a_full_table_is_an_error_not_an_endless_lookup() {
        let d = full_table();
        let started = Instant::now();
        let e = d.candidates(12_345).unwrap_err();
        assert_garbled(&e, started);
        // It is marked for rebuilding: the next open refuses it.
        assert!(Dedup::open(d.file.try_clone().unwrap()).unwrap().is_none());
    }

    #[test]
    fn a_full_table_is_an_error_not_an_endless_insert() {
        let mut d = full_table();
        let started = Instant::now();
        let e = d.insert(12_345, 7).unwrap_err();
        assert_garbled(&e, started);
        let e = d.insert_many(&[(1, 1), (2, 2)]).unwrap_err();
        assert_garbled(&e, started);
        assert!(Dedup::open(d.file.try_clone().unwrap()).unwrap().is_none());
    }

    #[test]
    fn growing_a_full_table_still_terminates() {
        // Growth rehashes every filled slot into twice the room, which always has space.
        let mut d = full_table();
        d.reserve(d.capacity).unwrap();
        assert_eq!(d.candidates(0).unwrap(), vec![0]);
    }

    #[test]
    fn reserve_grows_once_to_hold_the_final_size_at_half_load() {
        let mut d = table(0);
        d.insert_many(&[(1, 0), (2, 1)]).unwrap();
        assert_eq!(d.capacity, MIN_CAPACITY);
        let total = 5_000;
        d.reserve(total).unwrap();
        let reserved = d.capacity;
        assert!(
            reserved >= 2 * total && reserved.is_power_of_two(),
            "{reserved}"
        );
        assert_eq!(reserved, 16_384);
        // What was there survives the relayout.
        assert_eq!(d.candidates(1).unwrap(), vec![0]);
        assert_eq!(d.candidates(2).unwrap(), vec![1]);
        let pairs: Vec<(u64, u64)> = (2..total)
            .map(|i| (key_of(&[i as u8; 64]) ^ i, i))
            .collect();
        d.insert_many(&pairs).unwrap();
        assert_eq!(d.count(), total);
        assert_eq!(d.capacity, reserved, "no growth after reserve");
        // Reserving less than there is room for changes nothing.
        d.reserve(10).unwrap();
        assert_eq!(d.capacity, reserved);
        let d = Dedup::open(d.file.try_clone().unwrap()).unwrap().unwrap();
        assert_eq!(d.capacity, reserved);
        assert_eq!(d.candidates(pairs[100].0).unwrap(), vec![pairs[100].1]);
    }

    #[test]
    fn an_absurd_reservation_is_refused_not_an_overflow() {
        let mut d = table(0);
        let e = d.reserve(u64::MAX / 2).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(d.capacity, MIN_CAPACITY);
    }

    #[test]
    fn a_header_whose_size_overflows_is_malformed() {
        let d = table(0);
        let mut head = [0u8; HEADER as usize];
        head[..8].copy_from_slice(MAGIC);
        head[8..16].copy_from_slice(&(1u64 << 62).to_le_bytes());
        d.file.write_all_at(&head, 0).unwrap();
        assert!(Dedup::open(d.file.try_clone().unwrap()).unwrap().is_none());
    }
}
