//! MessagePack writer producing the exact bytes ormsgpack 1.13 writes for the
//! same values: smallest integer forms, float64 only, `str8` used, fixext when
//! the payload is exactly 1/2/4/8/16 bytes. Free of Python so `cargo test`
//! covers it; the object walk lives in `crate::py::serde::encode`.

pub mod decode;

use thiserror::Error;

/// Deepest nesting of arrays/maps ormsgpack accepts in one `packb` call:
/// opening the 256th nested container fails.
pub const MAX_DEPTH: u32 = 255;

/// Deepest chain of `default` calls (a `default` returning an object that
/// itself needs `default`) ormsgpack accepts in one `packb` call.
pub const MAX_DEFAULT_CALLS: u32 = 255;

/// Why an encode failed; the glue raises them all as `ormsgpack.MsgpackEncodeError`.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("Recursion limit reached")]
    DepthLimit,
    #[error("Recursion limit for default hook reached")]
    DefaultLimit,
    #[error("Integer exceeds 64-bit range")]
    IntOverflow,
    #[error("{0} is too long for msgpack")]
    TooLong(&'static str),
    #[error("Extension type out of range")]
    ExtTypeRange,
}

/// Where an ext payload starts, so its header can be written once its length is known.
#[derive(Debug, Clone, Copy)]
pub struct ExtMark {
    start: usize,
    tag: i8,
}

/// Largest ext header: `c9`, a 4-byte length and the type byte.
const EXT_HEADER_MAX: usize = 6;

#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// A writer over `buf`'s allocation (emptied first), to reuse a buffer across encodes.
    pub fn from_buffer(mut buf: Vec<u8>) -> Self {
        buf.clear();
        Self { buf }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drop everything written after `len` (used to undo a partial write).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    pub fn write_nil(&mut self) {
        self.buf.push(0xc0);
    }

    pub fn write_bool(&mut self, value: bool) {
        self.buf.push(if value { 0xc3 } else { 0xc2 });
    }

    pub fn write_u64(&mut self, value: u64) {
        if value < 128 {
            self.buf.push(value as u8);
        } else if value <= u8::MAX as u64 {
            self.buf.extend_from_slice(&[0xcc, value as u8]);
        } else if value <= u16::MAX as u64 {
            self.buf.push(0xcd);
            self.buf.extend_from_slice(&(value as u16).to_be_bytes());
        } else if value <= u32::MAX as u64 {
            self.buf.push(0xce);
            self.buf.extend_from_slice(&(value as u32).to_be_bytes());
        } else {
            self.buf.push(0xcf);
            self.buf.extend_from_slice(&value.to_be_bytes());
        }
    }

    pub fn write_i64(&mut self, value: i64) {
        if value >= 0 {
            self.write_u64(value as u64);
        } else if value >= -32 {
            self.buf.push(value as i8 as u8);
        } else if value >= i8::MIN as i64 {
            self.buf.extend_from_slice(&[0xd0, value as i8 as u8]);
        } else if value >= i16::MIN as i64 {
            self.buf.push(0xd1);
            self.buf.extend_from_slice(&(value as i16).to_be_bytes());
        } else if value >= i32::MIN as i64 {
            self.buf.push(0xd2);
            self.buf.extend_from_slice(&(value as i32).to_be_bytes());
        } else {
            self.buf.push(0xd3);
            self.buf.extend_from_slice(&value.to_be_bytes());
        }
    }

    /// Always float64, like ormsgpack (NaN payloads are kept bit for bit).
    pub fn write_f64(&mut self, value: f64) {
        self.buf.push(0xcb);
        self.buf.extend_from_slice(&value.to_bits().to_be_bytes());
    }

    /// A UTF-8 string (the caller has already replaced lone surrogates).
    pub fn write_str(&mut self, utf8: &[u8]) -> Result<(), EncodeError> {
        let len = utf8.len();
        // One capacity check for the header and the bytes.
        self.buf.reserve(len + 5);
        if len < 32 {
            self.buf.push(0xa0 | len as u8);
        } else if len <= u8::MAX as usize {
            self.buf.extend_from_slice(&[0xd9, len as u8]);
        } else if len <= u16::MAX as usize {
            self.buf.push(0xda);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else if len <= u32::MAX as usize {
            self.buf.push(0xdb);
            self.buf.extend_from_slice(&(len as u32).to_be_bytes());
        } else {
            return Err(EncodeError::TooLong("str"));
        }
        self.buf.extend_from_slice(utf8);
        Ok(())
    }

    pub fn write_bin(&mut self, data: &[u8]) -> Result<(), EncodeError> {
        let len = data.len();
        if len <= u8::MAX as usize {
            self.buf.extend_from_slice(&[0xc4, len as u8]);
        } else if len <= u16::MAX as usize {
            self.buf.push(0xc5);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else if len <= u32::MAX as usize {
            self.buf.push(0xc6);
            self.buf.extend_from_slice(&(len as u32).to_be_bytes());
        } else {
            return Err(EncodeError::TooLong("bytes"));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    pub fn write_array_len(&mut self, len: usize) -> Result<(), EncodeError> {
        self.write_container_len(len, 0x90, 0xdc, 0xdd, "array")
    }

    pub fn write_map_len(&mut self, len: usize) -> Result<(), EncodeError> {
        self.write_container_len(len, 0x80, 0xde, 0xdf, "map")
    }

    fn write_container_len(
        &mut self,
        len: usize,
        fix: u8,
        m16: u8,
        m32: u8,
        what: &'static str,
    ) -> Result<(), EncodeError> {
        if len < 16 {
            self.buf.push(fix | len as u8);
        } else if len <= u16::MAX as usize {
            self.buf.push(m16);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else if len <= u32::MAX as usize {
            self.buf.push(m32);
            self.buf.extend_from_slice(&(len as u32).to_be_bytes());
        } else {
            return Err(EncodeError::TooLong(what));
        }
        Ok(())
    }

    /// A complete ext value whose payload is already encoded.
    pub fn write_ext(&mut self, tag: i8, payload: &[u8]) -> Result<(), EncodeError> {
        let mark = self.begin_ext(tag)?;
        self.buf.extend_from_slice(payload);
        self.end_ext(mark)
    }

    /// Start an ext value whose payload is written next, straight into this buffer.
    pub fn begin_ext(&mut self, tag: i8) -> Result<ExtMark, EncodeError> {
        if tag < 0 {
            return Err(EncodeError::ExtTypeRange);
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; EXT_HEADER_MAX]);
        Ok(ExtMark { start, tag })
    }

    /// Write the header of the ext started at `mark` and close the gap before its payload.
    pub fn end_ext(&mut self, mark: ExtMark) -> Result<(), EncodeError> {
        let payload_start = mark.start + EXT_HEADER_MAX;
        let len = self.buf.len() - payload_start;
        let mut header = [0u8; EXT_HEADER_MAX];
        let tag = mark.tag as u8;
        let header_len = match len {
            1 => set(&mut header, &[0xd4, tag]),
            2 => set(&mut header, &[0xd5, tag]),
            4 => set(&mut header, &[0xd6, tag]),
            8 => set(&mut header, &[0xd7, tag]),
            16 => set(&mut header, &[0xd8, tag]),
            n if n <= u8::MAX as usize => set(&mut header, &[0xc7, n as u8, tag]),
            n if n <= u16::MAX as usize => {
                let l = (n as u16).to_be_bytes();
                set(&mut header, &[0xc8, l[0], l[1], tag])
            }
            n if n <= u32::MAX as usize => {
                let l = (n as u32).to_be_bytes();
                set(&mut header, &[0xc9, l[0], l[1], l[2], l[3], tag])
            }
            _ => {
                self.buf.truncate(mark.start);
                return Err(EncodeError::TooLong("ext payload"));
            }
        };
        let header_start = payload_start - header_len;
        self.buf[header_start..payload_start].copy_from_slice(&header[..header_len]);
        // Shift the payload left over the unused part of the reserved header.
        self.buf.copy_within(header_start.., mark.start);
        self.buf
            .truncate(self.buf.len() - (header_start - mark.start));
        Ok(())
    }

    /// Append bytes that are already valid msgpack (a value encoded elsewhere).
    pub fn write_raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }
}

fn set(header: &mut [u8; EXT_HEADER_MAX], bytes: &[u8]) -> usize {
    header[..bytes.len()].copy_from_slice(bytes);
    bytes.len()
}

/// Replace every lone surrogate, encoded "surrogatepass" style (`ED A0..BF xx`),
/// with `?`, as ormsgpack's `OPT_REPLACE_SURROGATES` does (one `?` per code point).
pub fn replace_surrogates(surrogatepass_utf8: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(surrogatepass_utf8.len());
    let mut i = 0;
    while i < surrogatepass_utf8.len() {
        let b = surrogatepass_utf8[i];
        if b == 0xed
            && i + 2 < surrogatepass_utf8.len()
            && (0xa0..=0xbf).contains(&surrogatepass_utf8[i + 1])
        {
            out.push(b'?');
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::default();
        f(&mut w);
        w.into_bytes()
    }

    #[test]
    fn ints_use_the_smallest_form() {
        assert_eq!(bytes(|w| w.write_i64(0)), [0x00]);
        assert_eq!(bytes(|w| w.write_i64(127)), [0x7f]);
        assert_eq!(bytes(|w| w.write_i64(128)), [0xcc, 0x80]);
        assert_eq!(bytes(|w| w.write_i64(256)), [0xcd, 0x01, 0x00]);
        assert_eq!(bytes(|w| w.write_i64(65536)), [0xce, 0, 1, 0, 0]);
        assert_eq!(bytes(|w| w.write_i64(-1)), [0xff]);
        assert_eq!(bytes(|w| w.write_i64(-32)), [0xe0]);
        assert_eq!(bytes(|w| w.write_i64(-33)), [0xd0, 0xdf]);
        assert_eq!(bytes(|w| w.write_i64(-129)), [0xd1, 0xff, 0x7f]);
        assert_eq!(
            bytes(|w| w.write_i64(-32769)),
            [0xd2, 0xff, 0xff, 0x7f, 0xff]
        );
        assert_eq!(bytes(|w| w.write_i64(i64::MIN))[0], 0xd3);
        assert_eq!(bytes(|w| w.write_u64(1 << 63))[..2], [0xcf, 0x80]);
    }

    #[test]
    fn floats_are_always_float64() {
        assert_eq!(
            bytes(|w| w.write_f64(1.5)),
            [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn str_headers() {
        assert_eq!(bytes(|w| w.write_str(&[b'x'; 31]).unwrap())[0], 0xbf);
        assert_eq!(
            bytes(|w| w.write_str(&[b'x'; 32]).unwrap())[..2],
            [0xd9, 32]
        );
        assert_eq!(
            bytes(|w| w.write_str(&[b'x'; 256]).unwrap())[..3],
            [0xda, 1, 0]
        );
        assert_eq!(
            bytes(|w| w.write_str(&vec![b'x'; 65536]).unwrap())[..5],
            [0xdb, 0, 1, 0, 0]
        );
    }

    #[test]
    fn containers() {
        assert_eq!(bytes(|w| w.write_array_len(15).unwrap()), [0x9f]);
        assert_eq!(bytes(|w| w.write_array_len(16).unwrap()), [0xdc, 0, 16]);
        assert_eq!(bytes(|w| w.write_map_len(0).unwrap()), [0x80]);
        assert_eq!(bytes(|w| w.write_map_len(70000).unwrap())[0], 0xdf);
    }

    #[test]
    fn ext_framing() {
        assert_eq!(bytes(|w| w.write_ext(7, &[0x91]).unwrap()), [0xd4, 7, 0x91]);
        assert_eq!(bytes(|w| w.write_ext(5, &[1, 2]).unwrap()), [0xd5, 5, 1, 2]);
        assert_eq!(bytes(|w| w.write_ext(0, &[9; 16]).unwrap())[..2], [0xd8, 0]);
        assert_eq!(
            bytes(|w| w.write_ext(1, &[1, 2, 3]).unwrap()),
            [0xc7, 3, 1, 1, 2, 3]
        );
        assert_eq!(bytes(|w| w.write_ext(1, &[]).unwrap()), [0xc7, 0, 1]);
        let big = bytes(|w| w.write_ext(2, &vec![7; 300]).unwrap());
        assert_eq!(big[..4], [0xc8, 1, 44, 2]);
        assert_eq!(big.len(), 304);
        let huge = bytes(|w| w.write_ext(3, &vec![7; 70000]).unwrap());
        assert_eq!(huge[..6], [0xc9, 0, 1, 0x11, 0x70, 3]);
        assert!(
            bytes(|w| assert_eq!(w.write_ext(-1, &[]), Err(EncodeError::ExtTypeRange))).is_empty()
        );
    }

    #[test]
    fn nested_ext_payload_written_in_place() {
        let mut w = Writer::default();
        w.write_array_len(1).unwrap();
        let outer = w.begin_ext(5).unwrap();
        let inner = w.begin_ext(0).unwrap();
        w.write_i64(1);
        w.end_ext(inner).unwrap();
        w.end_ext(outer).unwrap();
        assert_eq!(w.into_bytes(), [0x91, 0xc7, 3, 5, 0xd4, 0, 1]);
    }

    #[test]
    fn surrogates_become_question_marks() {
        // "a\ud800b\udfff" encoded with surrogatepass
        let input = [b'a', 0xed, 0xa0, 0x80, b'b', 0xed, 0xbf, 0xbf];
        assert_eq!(replace_surrogates(&input), b"a?b?");
        // A real 3-byte character starting with ED (U+D7FF) is kept.
        assert_eq!(replace_surrogates(&[0xed, 0x9f, 0xbf]), [0xed, 0x9f, 0xbf]);
    }
}
