//! The MessagePack reader (Cargo feature `native-decoder`): walks bytes exactly as
//! ormsgpack 1.13's `unpackb` does with `OPT_NON_STR_KEYS`: the same accepted
//! inputs, the same error for every rejected one (and at the same point, so the
//! ext hooks run before an error are the same), the same nesting limit.
//!
//! Values are produced through a [`Builder`], so this module knows nothing of
//! Python (`cargo test --features native-decoder` covers it with a plain Rust
//! builder); `crate::py::serde::decode` builds Python objects with it.
//!
//! Hostile input: nothing is allocated from a length header beyond what the
//! remaining bytes can hold, nesting is bounded (1023 levels, as ormsgpack), and
//! trailing bytes after the first value are ignored, as ormsgpack does.

use std::fmt;

use super::Marker;

/// ormsgpack's `RECURSION_LIMIT`: the 1024th nested value (map keys included) fails.
pub const RECURSION_LIMIT: u32 = 1024;

/// Why a decode failed. The messages are ormsgpack's; all of them reach Python as
/// `ormsgpack.MsgpackDecodeError` (which is `ValueError`).
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError<E> {
    Eof,
    InvalidType(Marker),
    InvalidValue,
    InvalidStr,
    RecursionLimit,
    /// The builder failed (for Python: the ext hook raised, or an allocation failed).
    Build(E),
}

impl<E: fmt::Display> fmt::Display for DecodeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Eof => f.write_str("unexpected end of file"),
            DecodeError::InvalidType(marker) => write!(f, "invalid type {marker:?}"),
            DecodeError::InvalidValue => f.write_str("invalid value"),
            DecodeError::InvalidStr => f.write_str("invalid UTF-8 string"),
            DecodeError::RecursionLimit => f.write_str("Recursion limit reached"),
            DecodeError::Build(err) => err.fmt(f),
        }
    }
}

/// Builds the values a decode produces. Containers are handed over complete
/// (their items in order), so a builder never exposes a half-filled container.
pub trait Builder {
    type Value;
    type Map;
    type Error;

    fn nil(&mut self) -> Result<Self::Value, Self::Error>;
    fn boolean(&mut self, value: bool) -> Result<Self::Value, Self::Error>;
    fn int(&mut self, value: i64) -> Result<Self::Value, Self::Error>;
    fn uint(&mut self, value: u64) -> Result<Self::Value, Self::Error>;
    fn float(&mut self, value: f64) -> Result<Self::Value, Self::Error>;
    fn str(&mut self, value: &str) -> Result<Self::Value, Self::Error>;
    /// A map key string (ormsgpack interns these; the value is the same).
    fn key_str(&mut self, value: &str) -> Result<Self::Value, Self::Error> {
        self.str(value)
    }
    fn bin(&mut self, value: &[u8]) -> Result<Self::Value, Self::Error>;
    /// A list holding `items`, in order.
    fn array(
        &mut self,
        items: std::vec::Drain<'_, Self::Value>,
    ) -> Result<Self::Value, Self::Error>;
    /// A tuple (an array used as a map key) holding `items`.
    fn tuple(
        &mut self,
        items: std::vec::Drain<'_, Self::Value>,
    ) -> Result<Self::Value, Self::Error>;
    /// An empty map; `capacity` never exceeds what the remaining input can hold.
    fn map(&mut self, capacity: usize) -> Result<Self::Map, Self::Error>;
    /// Insert (a later duplicate key replaces the earlier value, as a Python dict does).
    fn map_insert(
        &mut self,
        map: &mut Self::Map,
        key: Self::Value,
        value: Self::Value,
    ) -> Result<(), Self::Error>;
    fn map_end(&mut self, map: Self::Map) -> Result<Self::Value, Self::Error>;
    /// An ext value; `payload` is the raw ext body.
    fn ext(&mut self, tag: i8, payload: &[u8]) -> Result<Self::Value, Self::Error>;
}

/// Decode the first value of `input` (trailing bytes are ignored, as ormsgpack does).
///
/// `stack` holds the items of the arrays being read; it is the caller's so the
/// caller decides when the partial values left in it after an error are dropped.
pub fn decode<B: Builder>(
    input: &[u8],
    builder: &mut B,
    stack: &mut Vec<B::Value>,
) -> Result<B::Value, DecodeError<B::Error>> {
    let mut reader = Reader {
        input,
        pos: 0,
        depth: 0,
    };
    reader.value(builder, stack)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    depth: u32,
}

type Res<T, E> = Result<T, DecodeError<E>>;

macro_rules! build {
    ($e:expr) => {
        $e.map_err(DecodeError::Build)
    };
}

impl<'a> Reader<'a> {
    #[inline]
    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    #[inline]
    fn take<E>(&mut self, n: usize) -> Res<&'a [u8], E> {
        if n > self.remaining() {
            // Consume what is left, as a streaming reader would, then fail.
            self.pos = self.input.len();
            return Err(DecodeError::Eof);
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    fn u8<E>(&mut self) -> Res<u8, E> {
        match self.input.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(DecodeError::Eof),
        }
    }

    #[inline]
    fn array_n<const N: usize, E>(&mut self) -> Res<[u8; N], E> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    fn u16<E>(&mut self) -> Res<u16, E> {
        Ok(u16::from_be_bytes(self.array_n()?))
    }

    fn u32<E>(&mut self) -> Res<u32, E> {
        Ok(u32::from_be_bytes(self.array_n()?))
    }

    fn u64<E>(&mut self) -> Res<u64, E> {
        Ok(u64::from_be_bytes(self.array_n()?))
    }

    fn enter<E>(&mut self) -> Res<(), E> {
        self.depth += 1;
        if self.depth == RECURSION_LIMIT {
            return Err(DecodeError::RecursionLimit);
        }
        Ok(())
    }

    /// The length a str marker announces, reading its length bytes (str markers only).
    fn str_len<E>(&mut self, marker: Marker) -> Res<usize, E> {
        Ok(match marker {
            Marker::FixStr(n) => n as usize,
            Marker::Str8 => self.u8()? as usize,
            Marker::Str16 => self.u16()? as usize,
            _ => self.u32()? as usize,
        })
    }

    /// The length an array marker announces, reading its length bytes (array markers only).
    fn array_len<E>(&mut self, marker: Marker) -> Res<usize, E> {
        Ok(match marker {
            Marker::FixArray(n) => n as usize,
            Marker::Array16 => self.u16()? as usize,
            _ => self.u32()? as usize,
        })
    }

    fn str_body<E>(&mut self, len: usize) -> Res<&'a str, E> {
        let bytes = self.take(len)?;
        if bytes.is_ascii() {
            // SAFETY: ASCII is valid UTF-8 (the common case, checked word by word).
            return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidStr)
    }

    /// A number or nil/bool, shared by values and keys; `None` for other markers.
    #[inline]
    fn scalar<B: Builder>(&mut self, b: &mut B, marker: Marker) -> Res<Option<B::Value>, B::Error> {
        Ok(Some(match marker {
            Marker::Null => build!(b.nil())?,
            Marker::True => build!(b.boolean(true))?,
            Marker::False => build!(b.boolean(false))?,
            Marker::FixPos(v) => build!(b.uint(v as u64))?,
            Marker::U8 => {
                let v = self.u8()?;
                build!(b.uint(v as u64))?
            }
            Marker::U16 => {
                let v = self.u16()?;
                build!(b.uint(v as u64))?
            }
            Marker::U32 => {
                let v = self.u32()?;
                build!(b.uint(v as u64))?
            }
            Marker::U64 => {
                let v = self.u64()?;
                build!(b.uint(v))?
            }
            Marker::FixNeg(v) => build!(b.int(v as i64))?,
            Marker::I8 => {
                let v = self.u8()? as i8;
                build!(b.int(v as i64))?
            }
            Marker::I16 => {
                let v = self.u16()? as i16;
                build!(b.int(v as i64))?
            }
            Marker::I32 => {
                let v = self.u32()? as i32;
                build!(b.int(v as i64))?
            }
            Marker::I64 => {
                let v = self.u64()? as i64;
                build!(b.int(v))?
            }
            Marker::F32 => {
                let v = f32::from_bits(self.u32()?);
                build!(b.float(v as f64))?
            }
            Marker::F64 => {
                let v = f64::from_bits(self.u64()?);
                build!(b.float(v))?
            }
            Marker::Bin8 => {
                let n = self.u8()? as usize;
                let s = self.take(n)?;
                build!(b.bin(s))?
            }
            Marker::Bin16 => {
                let n = self.u16()? as usize;
                let s = self.take(n)?;
                build!(b.bin(s))?
            }
            Marker::Bin32 => {
                let n = self.u32()? as usize;
                let s = self.take(n)?;
                build!(b.bin(s))?
            }
            _ => return Ok(None),
        }))
    }

    fn value<B: Builder>(
        &mut self,
        b: &mut B,
        stack: &mut Vec<B::Value>,
    ) -> Res<B::Value, B::Error> {
        self.enter()?;
        let marker = Marker::from_u8(self.u8()?);
        if let Some(v) = self.scalar(b, marker)? {
            self.depth -= 1;
            return Ok(v);
        }
        let value = match marker {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let n = self.str_len(marker)?;
                let s = self.str_body(n)?;
                build!(b.str(s))?
            }
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                let n = self.array_len(marker)?;
                self.array(b, stack, n)?
            }
            Marker::FixMap(n) => self.map(b, stack, n as usize)?,
            Marker::Map16 => {
                let n = self.u16()? as usize;
                self.map(b, stack, n)?
            }
            Marker::Map32 => {
                let n = self.u32()? as usize;
                self.map(b, stack, n)?
            }
            Marker::FixExt1 => self.ext(b, 1)?,
            Marker::FixExt2 => self.ext(b, 2)?,
            Marker::FixExt4 => self.ext(b, 4)?,
            Marker::FixExt8 => self.ext(b, 8)?,
            Marker::FixExt16 => self.ext(b, 16)?,
            Marker::Ext8 => {
                let n = self.u8()? as usize;
                self.ext(b, n)?
            }
            Marker::Ext16 => {
                let n = self.u16()? as usize;
                self.ext(b, n)?
            }
            Marker::Ext32 => {
                let n = self.u32()? as usize;
                self.ext(b, n)?
            }
            other => return Err(DecodeError::InvalidType(other)),
        };
        self.depth -= 1;
        Ok(value)
    }

    fn array<B: Builder>(
        &mut self,
        b: &mut B,
        stack: &mut Vec<B::Value>,
        len: usize,
    ) -> Res<B::Value, B::Error> {
        let start = stack.len();
        // Every item takes at least one byte: never reserve more than the input holds.
        stack.reserve(len.min(self.remaining()));
        for _ in 0..len {
            let item = self.value(b, stack)?;
            stack.push(item);
        }
        build!(b.array(stack.drain(start..)))
    }

    fn map<B: Builder>(
        &mut self,
        b: &mut B,
        stack: &mut Vec<B::Value>,
        len: usize,
    ) -> Res<B::Value, B::Error> {
        // Every entry takes at least two bytes.
        let mut map = build!(b.map(len.min(self.remaining() / 2)))?;
        for _ in 0..len {
            let key = self.key(b, stack)?;
            let value = self.value(b, stack)?;
            build!(b.map_insert(&mut map, key, value))?;
        }
        build!(b.map_end(map))
    }

    fn ext<B: Builder>(&mut self, b: &mut B, len: usize) -> Res<B::Value, B::Error> {
        let tag = self.u8()? as i8;
        let payload = self.take(len)?;
        build!(b.ext(tag, payload))
    }

    /// A map key under OPT_NON_STR_KEYS: scalars, str, bytes, and arrays (as tuples) of keys.
    fn key<B: Builder>(&mut self, b: &mut B, stack: &mut Vec<B::Value>) -> Res<B::Value, B::Error> {
        self.enter()?;
        let marker = Marker::from_u8(self.u8()?);
        if let Some(v) = self.scalar(b, marker)? {
            self.depth -= 1;
            return Ok(v);
        }
        let value = match marker {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let n = self.str_len(marker)?;
                let s = self.str_body(n)?;
                build!(b.key_str(s))?
            }
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                let n = self.array_len(marker)?;
                self.key_tuple(b, stack, n)?
            }
            // Only a timestamp ext (not enabled by LangGraph's options) may be a key;
            // ormsgpack reads the tag, then refuses.
            Marker::FixExt4 | Marker::FixExt8 | Marker::Ext8 => {
                if marker == Marker::Ext8 {
                    self.u8()?;
                }
                self.u8()?;
                return Err(DecodeError::InvalidValue);
            }
            other => return Err(DecodeError::InvalidType(other)),
        };
        self.depth -= 1;
        Ok(value)
    }

    fn key_tuple<B: Builder>(
        &mut self,
        b: &mut B,
        stack: &mut Vec<B::Value>,
        len: usize,
    ) -> Res<B::Value, B::Error> {
        let start = stack.len();
        stack.reserve(len.min(self.remaining()));
        for _ in 0..len {
            let item = self.key(b, stack)?;
            stack.push(item);
        }
        build!(b.tuple(stack.drain(start..)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain Rust value tree, to test the reader without Python.
    #[derive(Debug, Clone, PartialEq)]
    enum V {
        Nil,
        Bool(bool),
        Int(i64),
        UInt(u64),
        Float(f64),
        Str(String),
        Bin(Vec<u8>),
        List(Vec<V>),
        Tuple(Vec<V>),
        Map(Vec<(V, V)>),
        Ext(i8, Vec<u8>),
    }

    #[derive(Default)]
    struct Tree {
        exts: usize,
    }

    impl Builder for Tree {
        type Value = V;
        type Map = Vec<(V, V)>;
        type Error = String;
        fn nil(&mut self) -> Result<V, String> {
            Ok(V::Nil)
        }
        fn boolean(&mut self, v: bool) -> Result<V, String> {
            Ok(V::Bool(v))
        }
        fn int(&mut self, v: i64) -> Result<V, String> {
            Ok(V::Int(v))
        }
        fn uint(&mut self, v: u64) -> Result<V, String> {
            Ok(V::UInt(v))
        }
        fn float(&mut self, v: f64) -> Result<V, String> {
            Ok(V::Float(v))
        }
        fn str(&mut self, v: &str) -> Result<V, String> {
            Ok(V::Str(v.to_owned()))
        }
        fn bin(&mut self, v: &[u8]) -> Result<V, String> {
            Ok(V::Bin(v.to_vec()))
        }
        fn array(&mut self, items: std::vec::Drain<'_, V>) -> Result<V, String> {
            Ok(V::List(items.collect()))
        }
        fn tuple(&mut self, items: std::vec::Drain<'_, V>) -> Result<V, String> {
            Ok(V::Tuple(items.collect()))
        }
        fn map(&mut self, capacity: usize) -> Result<Self::Map, String> {
            Ok(Vec::with_capacity(capacity))
        }
        fn map_insert(&mut self, map: &mut Self::Map, k: V, v: V) -> Result<(), String> {
            map.push((k, v));
            Ok(())
        }
        fn map_end(&mut self, map: Self::Map) -> Result<V, String> {
            Ok(V::Map(map))
        }
        fn ext(&mut self, tag: i8, payload: &[u8]) -> Result<V, String> {
            self.exts += 1;
            if tag == 99 {
                return Err("ext_hook failed".to_owned());
            }
            Ok(V::Ext(tag, payload.to_vec()))
        }
    }

    fn run(input: &[u8]) -> Result<V, DecodeError<String>> {
        let mut stack = Vec::new();
        decode(input, &mut Tree::default(), &mut stack)
    }

    fn err(input: &[u8]) -> String {
        run(input).unwrap_err().to_string()
    }

    #[test]
    fn scalars() {
        assert_eq!(run(b"\xc0").unwrap(), V::Nil);
        assert_eq!(run(b"\xc3").unwrap(), V::Bool(true));
        assert_eq!(run(b"\x7f").unwrap(), V::UInt(127));
        assert_eq!(run(b"\xff").unwrap(), V::Int(-1));
        assert_eq!(run(b"\xd0\x80").unwrap(), V::Int(-128));
        assert_eq!(
            run(b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff").unwrap(),
            V::UInt(u64::MAX)
        );
        assert_eq!(run(b"\xca\x3f\xc0\x00\x00").unwrap(), V::Float(1.5));
        assert_eq!(run(b"\xa2hi").unwrap(), V::Str("hi".into()));
        assert_eq!(run(b"\xc4\x01a").unwrap(), V::Bin(b"a".to_vec()));
        // Trailing bytes are ignored.
        assert_eq!(run(b"\x01\x02").unwrap(), V::UInt(1));
    }

    #[test]
    fn containers_and_keys() {
        assert_eq!(
            run(b"\x92\x01\x91\xc0").unwrap(),
            V::List(vec![V::UInt(1), V::List(vec![V::Nil])])
        );
        assert_eq!(
            run(b"\x82\x92\x01\xa1x\x02\xc4\x01k\xc2").unwrap(),
            V::Map(vec![
                (V::Tuple(vec![V::UInt(1), V::Str("x".into())]), V::UInt(2)),
                (V::Bin(b"k".to_vec()), V::Bool(false)),
            ])
        );
        assert_eq!(run(b"\xd5\x05ab").unwrap(), V::Ext(5, b"ab".to_vec()));
    }

    #[test]
    fn errors_match_ormsgpack() {
        assert_eq!(err(b""), "unexpected end of file");
        assert_eq!(err(b"\xc1"), "invalid type Reserved");
        assert_eq!(err(b"\x92\x01"), "unexpected end of file");
        assert_eq!(err(b"\xa2\xff\xfe"), "invalid UTF-8 string");
        assert_eq!(err(b"\xa3\xed\xa0\x80"), "invalid UTF-8 string");
        assert_eq!(err(b"\x81\x81\x01\x01\x02"), "invalid type FixMap(1)");
        assert_eq!(err(b"\x81\x91\x80\x02"), "invalid type FixMap(0)");
        assert_eq!(err(b"\x81\xd4\x05\x01\x02"), "invalid type FixExt1");
        assert_eq!(err(b"\x81\xd6\x05\x01\x02\x03\x04\x02"), "invalid value");
        assert_eq!(err(b"\xd4\x63\x00"), "ext_hook failed");
    }

    #[test]
    fn huge_headers_allocate_nothing_up_front() {
        for input in [
            &b"\xdd\xff\xff\xff\xff"[..],
            b"\xdf\xff\xff\xff\xff",
            b"\xdb\xff\xff\xff\xff",
            b"\xc6\xff\xff\xff\xff",
            b"\xc9\xff\xff\xff\xff\x01",
        ] {
            assert_eq!(err(input), "unexpected end of file");
        }
    }

    /// Deep inputs on a thread with a known stack: the release build needs far less.
    fn on_big_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn nesting_limit_is_ormsgpacks() {
        on_big_stack(nesting_limit);
    }

    fn nesting_limit() {
        let ok = [vec![0x91u8; 1022], vec![0xc0]].concat();
        assert!(run(&ok).is_ok());
        let too_deep = [vec![0x91u8; 1023], vec![0xc0]].concat();
        assert_eq!(err(&too_deep), "Recursion limit reached");
        // The limit is reported before the missing bytes are.
        assert_eq!(err(&vec![0x91u8; 100_000]), "Recursion limit reached");
        // Map keys count too.
        let keys = [vec![0x81u8; 1], vec![0x91u8; 1022], vec![0xc0, 0xc0]].concat();
        assert_eq!(err(&keys), "Recursion limit reached");
    }

    #[test]
    fn the_ext_before_an_error_is_still_built() {
        let mut tree = Tree::default();
        let mut stack = Vec::new();
        assert!(decode(b"\x92\xd4\x01\x00\xc1", &mut tree, &mut stack).is_err());
        assert_eq!(tree.exts, 1);
    }
}
