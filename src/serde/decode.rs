//! MessagePack seen as ormsgpack 1.13's `unpackb` sees it with `OPT_NON_STR_KEYS`
//! (LangGraph's only decode option). Free of Python so `cargo test` covers it.
//!
//! What every build runs: [`scan_prefix`], the skip-scan `crate::py::serde::decode`
//! routes each large input with (to ormsgpack as it is, or with the GC paused).
//! The full reader (`reader`: `decode` through a `Builder`) matches ormsgpack value
//! for value. The message codec (`crate::py::message_codec`) reads verified message
//! payloads with it; decoding whole checkpoints with it (`crate::py::serde::decode::native`)
//! is behind the `native-decoder` Cargo feature, since ormsgpack builds those faster.

mod reader;
#[cfg(feature = "native-decoder")]
pub use reader::RECURSION_LIMIT;
pub use reader::{decode, Builder, DecodeError};

/// A msgpack type byte, named as ormsgpack (rmp's `Marker`) names it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    FixPos(u8),
    FixNeg(i8),
    Null,
    True,
    False,
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
    FixStr(u8),
    Str8,
    Str16,
    Str32,
    Bin8,
    Bin16,
    Bin32,
    FixArray(u8),
    Array16,
    Array32,
    FixMap(u8),
    Map16,
    Map32,
    FixExt1,
    FixExt2,
    FixExt4,
    FixExt8,
    FixExt16,
    Ext8,
    Ext16,
    Ext32,
    Reserved,
}

impl Marker {
    pub fn from_u8(b: u8) -> Marker {
        match b {
            0x00..=0x7f => Marker::FixPos(b),
            0x80..=0x8f => Marker::FixMap(b & 0x0f),
            0x90..=0x9f => Marker::FixArray(b & 0x0f),
            0xa0..=0xbf => Marker::FixStr(b & 0x1f),
            0xc0 => Marker::Null,
            0xc1 => Marker::Reserved,
            0xc2 => Marker::False,
            0xc3 => Marker::True,
            0xc4 => Marker::Bin8,
            0xc5 => Marker::Bin16,
            0xc6 => Marker::Bin32,
            0xc7 => Marker::Ext8,
            0xc8 => Marker::Ext16,
            0xc9 => Marker::Ext32,
            0xca => Marker::F32,
            0xcb => Marker::F64,
            0xcc => Marker::U8,
            0xcd => Marker::U16,
            0xce => Marker::U32,
            0xcf => Marker::U64,
            0xd0 => Marker::I8,
            0xd1 => Marker::I16,
            0xd2 => Marker::I32,
            0xd3 => Marker::I64,
            0xd4 => Marker::FixExt1,
            0xd5 => Marker::FixExt2,
            0xd6 => Marker::FixExt4,
            0xd7 => Marker::FixExt8,
            0xd8 => Marker::FixExt16,
            0xd9 => Marker::Str8,
            0xda => Marker::Str16,
            0xdb => Marker::Str32,
            0xdc => Marker::Array16,
            0xdd => Marker::Array32,
            0xde => Marker::Map16,
            0xdf => Marker::Map32,
            0xe0..=0xff => Marker::FixNeg(b as i8),
        }
    }
}

/// What [`scan_prefix`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub values: usize,
    pub exts: usize,
    /// The scanned part cannot decode: a reserved marker (0xc1), or a length or a
    /// value running past the end of the input. Every decoder rejects such input.
    pub malformed: bool,
}

/// How many values and how many ext values the first `budget` values of `input`
/// hold, stopping as soon as `enough_exts` ext values were seen, and whether the
/// scanned part is malformed (a skip-scan: nothing is decoded or allocated). Used
/// to choose a decoder before decoding: a blob made mostly of ext values is object
/// construction in the ext hook, whoever reads the bytes. Malformed input ends the
/// scan early.
pub fn scan_prefix(input: &[u8], budget: usize, enough_exts: usize) -> Prefix {
    let (mut pos, mut pending, mut values, mut exts) = (0usize, 1usize, 0usize, 0usize);
    let mut malformed = false;
    let be = |at: usize, n: usize| -> Option<usize> {
        let bytes = input.get(at..at.checked_add(n)?)?;
        Some(bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize))
    };
    while pending > 0 && values < budget && exts < enough_exts {
        let Some(&b) = input.get(pos) else {
            malformed = true;
            break;
        };
        pending -= 1;
        values += 1;
        pos += 1;
        // (bytes to skip, values that follow as children)
        let (skip, children) = match Marker::from_u8(b) {
            Marker::FixMap(n) => (0, 2 * n as usize),
            Marker::FixArray(n) => (0, n as usize),
            Marker::FixStr(n) => (n as usize, 0),
            Marker::U8 | Marker::I8 => (1, 0),
            Marker::U16 | Marker::I16 => (2, 0),
            Marker::U32 | Marker::I32 | Marker::F32 => (4, 0),
            Marker::U64 | Marker::I64 | Marker::F64 => (8, 0),
            Marker::Str8 | Marker::Bin8 => match be(pos, 1) {
                Some(n) => (1 + n, 0),
                None => {
                    malformed = true;
                    break;
                }
            },
            Marker::Str16 | Marker::Bin16 => match be(pos, 2) {
                Some(n) => (2 + n, 0),
                None => {
                    malformed = true;
                    break;
                }
            },
            Marker::Str32 | Marker::Bin32 => match be(pos, 4) {
                Some(n) => (4 + n, 0),
                None => {
                    malformed = true;
                    break;
                }
            },
            m @ (Marker::Array16 | Marker::Map16 | Marker::Array32 | Marker::Map32) => {
                let width = if matches!(m, Marker::Array16 | Marker::Map16) {
                    2
                } else {
                    4
                };
                let Some(n) = be(pos, width) else {
                    malformed = true;
                    break;
                };
                let per = if matches!(m, Marker::Map16 | Marker::Map32) {
                    2
                } else {
                    1
                };
                (width, n.saturating_mul(per))
            }
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16 => {
                exts += 1;
                (1 + (1usize << (b - 0xd4)), 0)
            }
            Marker::Ext8 | Marker::Ext16 | Marker::Ext32 => {
                exts += 1;
                let width = 1usize << (b - 0xc7);
                let Some(n) = be(pos, width) else {
                    malformed = true;
                    break;
                };
                (width + 1 + n, 0)
            }
            Marker::Reserved => {
                malformed = true;
                break;
            }
            _ => (0, 0),
        };
        pos = pos.saturating_add(skip);
        pending = pending.saturating_add(children);
    }
    Prefix {
        values,
        exts,
        malformed: malformed || pos > input.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_prefix_counts_values_and_exts() {
        let ext_share = |input: &[u8], budget: usize| {
            let p = scan_prefix(input, budget, usize::MAX);
            (p.values, p.exts)
        };
        // {"a": [ext, ext, 1], "b": "xy"}
        let blob = [
            0x82, 0xa1, b'a', 0x93, 0xd4, 5, 0, 0xc7, 2, 3, 9, 9, 0x01, 0xa1, b'b', 0xa2, b'x',
            b'y',
        ];
        assert_eq!(ext_share(&blob, 1000), (8, 2));
        assert_eq!(ext_share(&blob, 3), (3, 0));
        // Truncated and hostile headers end the scan, never panic.
        assert_eq!(ext_share(&blob[..9], 1000).1, 2);
        assert_eq!(ext_share(&[0xdd, 0xff, 0xff, 0xff, 0xff], 1000), (1, 0));
        assert_eq!(ext_share(&[0xc9, 0xff], 1000), (1, 1));
        assert_eq!(ext_share(&[], 1000), (0, 0));
    }

    #[test]
    fn scan_prefix_stops_once_enough_exts_and_tells_malformed() {
        let exts: Vec<u8> = [0xdc, 0x01, 0x00]
            .into_iter()
            .chain(std::iter::repeat_n([0xd4u8, 5, 0], 256).flatten())
            .collect();
        let p = scan_prefix(&exts, 4096, 10);
        assert_eq!((p.values, p.exts, p.malformed), (11, 10, false));
        let whole = scan_prefix(&exts, 4096, usize::MAX);
        assert_eq!(
            (whole.values, whole.exts, whole.malformed),
            (257, 256, false)
        );
        let ok = |b: &[u8]| !scan_prefix(b, 4096, usize::MAX).malformed;
        assert!(ok(&[0x92, 0x01, 0xa1, b'x']));
        assert!(ok(&[0xc0, 0xc1])); // trailing bytes are not read
        assert!(!ok(&[0x92, 0x01, 0xc1])); // reserved marker
        assert!(!ok(&[0x92, 0x01])); // a value missing
        assert!(!ok(&[0xa3, b'x'])); // a str past the end
        assert!(!ok(&[0xdb, 0x7f, 0xff])); // a length past the end
        assert!(!ok(&[0xdf, 0xff, 0xff, 0xff, 0xff, 0x00])); // map32 header past the end
        assert!(!ok(&[]));
        // Past the scanned window nothing is told.
        assert!(!scan_prefix(&[0x93, 0x01, 0x02, 0xc1], 3, usize::MAX).malformed);
    }
}
