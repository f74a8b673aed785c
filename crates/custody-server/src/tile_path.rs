//! The C2SP tlog-tiles path grammar, for the paths the server serves from a published
//! directory: only a path this parser accepts, in its one canonical spelling, reaches the file
//! system, so no `..`, no percent-encoding, no doubled slash and no other file of the
//! directory can be asked for.
//!
//! ```text
//! tile/<L>/<N>[.p/<W>]        hash tile of level L (0..=63)
//! tile/entries/<N>[.p/<W>]    entry bundle
//! <N>  the tile index in 3-digit groups, all but the last prefixed with x: x001/x234/067
//! <W>  a partial tile's width, 1..=255, no leading zeros
//! ```
//!
//! (c2sp.org/tlog-tiles. `custody publish` writes these paths; once its path formatter is in
//! custody-core this parser can check against it.)

/// A tile path that parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePath {
    /// The level of a hash tile; `None` for an entry bundle.
    pub level: Option<u8>,
    /// The tile's index within its level.
    pub index: u64,
    /// The width of a partial tile; `None` for a full one (256).
    pub width: Option<u8>,
}

/// The longest path the grammar allows: `tile/entries/` and a u64 index in 7 groups, plus a
/// partial width.
const MAX_PATH: usize = 64;

impl TilePath {
    /// Parses `path` (without a leading `/`), accepting only its canonical spelling.
    #[must_use]
    pub fn parse(path: &str) -> Option<TilePath> {
        if path.len() > MAX_PATH || !path.is_ascii() {
            return None;
        }
        let rest = path.strip_prefix("tile/")?;
        let (level, rest) = rest.split_once('/')?;
        let level = if level == "entries" {
            None
        } else {
            Some(decimal(level).filter(|&l| l <= 63)? as u8)
        };
        let (n, width) = match rest.split_once(".p/") {
            Some((n, w)) => (n, Some(decimal(w).filter(|w| (1..=255).contains(w))? as u8)),
            None => (rest, None),
        };
        let mut index: u64 = 0;
        let groups: Vec<&str> = n.split('/').collect();
        let (last, upper) = groups.split_last()?;
        for g in upper {
            let digits = g.strip_prefix('x')?;
            index = index
                .checked_mul(1000)?
                .checked_add(three_digits(digits)?)?;
        }
        index = index.checked_mul(1000)?.checked_add(three_digits(last)?)?;
        let parsed = TilePath {
            level,
            index,
            width,
        };
        // One spelling per tile: no leading x000 group, nothing the formatter would not write.
        (parsed.to_path() == path).then_some(parsed)
    }

    /// The canonical path of this tile.
    #[must_use]
    pub fn to_path(&self) -> String {
        let mut n = format!("{:03}", self.index % 1000);
        let mut i = self.index / 1000;
        while i > 0 {
            n = format!("x{:03}/{n}", i % 1000);
            i /= 1000;
        }
        let level = self.level.map_or("entries".to_string(), |l| l.to_string());
        match self.width {
            Some(w) => format!("tile/{level}/{n}.p/{w}"),
            None => format!("tile/{level}/{n}"),
        }
    }

    /// Whether this is a full tile (immutable once written).
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.width.is_none()
    }

    /// The most bytes such a file may hold: 256 hashes of 32 bytes, or 256 entries of at most
    /// 65,535 bytes each with a 2-byte length prefix.
    #[must_use]
    pub fn max_bytes(&self) -> u64 {
        let n = self.width.map_or(256, u64::from);
        match self.level {
            Some(_) => n * 32,
            None => n * (2 + 65_535),
        }
    }
}

/// A decimal number without leading zeros (`0` itself allowed), at most three digits.
fn decimal(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 3 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Exactly three ASCII digits.
fn three_digits(s: &str) -> Option<u64> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples_parse_and_print_back() {
        for (path, level, index, width) in [
            ("tile/0/000", Some(0), 0, None),
            ("tile/0/x001/x234/067", Some(0), 1_234_067, None),
            ("tile/1/000.p/5", Some(1), 0, Some(5)),
            (
                "tile/entries/x001/x234/067.p/255",
                None,
                1_234_067,
                Some(255),
            ),
            ("tile/63/999", Some(63), 999, None),
            (
                "tile/entries/x018/x446/x744/x073/x709/x551/615",
                None,
                u64::MAX,
                None,
            ),
        ] {
            let t = TilePath::parse(path).unwrap_or_else(|| panic!("{path}"));
            assert_eq!((t.level, t.index, t.width), (level, index, width), "{path}");
            assert_eq!(t.to_path(), path);
        }
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "",
            "tile",
            "tile/",
            "tile/0",
            "tile/0/",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x1/001",
            "tile/00/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/data/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/0/000/",
            "tile/0//000",
            "tile/0/../000",
            "tile/0/%30%30%30",
            "tile/../checkpoint",
            "/tile/0/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/٠٠٠",
            "checkpoint",
        ] {
            assert_eq!(TilePath::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn full_and_partial_tiles_are_told_apart_with_their_bounds() {
        let full = TilePath::parse("tile/2/001").unwrap();
        assert!(full.is_full());
        assert_eq!(full.max_bytes(), 8192);
        let part = TilePath::parse("tile/entries/001.p/3").unwrap();
        assert!(!part.is_full());
        assert_eq!(part.max_bytes(), 3 * 65_537);
    }
}
