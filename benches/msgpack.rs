//! The msgpack `Writer` (src/serde): the byte-level half of `msgpack_encode`, the
//! encoder behind the `serde` patch. The Python object walk (src/py/serde/encode.rs) calls
//! exactly these methods; what it adds on top (type checks, refcounts, `model_dump`)
//! is measured by `python -m fast_langgraph.bench serde`.

// A benchmark that cannot set up its input should stop at once: unwrap is the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;

use _core::serde::{replace_surrogates, EncodeError, Writer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// The initial capacity `msgpack_encode` gives its writer.
const CAPACITY: usize = 256;

fn bytes(c: &mut Criterion) {
    let mut group = c.benchmark_group("msgpack/bin");
    for size in [64, 4 << 10, 1 << 20] {
        let data = vec![0xa5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &data, |b, data| {
            b.iter(|| {
                let mut w = Writer::with_capacity(CAPACITY);
                w.write_bin(black_box(data)).unwrap();
                w.into_bytes()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("msgpack/str");
    for size in [16, 4 << 10] {
        let text = "é".repeat(size / 2).into_bytes();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
            b.iter(|| {
                let mut w = Writer::with_capacity(CAPACITY);
                w.write_str(black_box(text)).unwrap();
                w.into_bytes()
            })
        });
    }
    group.finish();

    // Strings holding lone surrogates are rewritten before `write_str`.
    let mut group = c.benchmark_group("msgpack/replace_surrogates");
    let mut text = "a".repeat(4 << 10).into_bytes();
    text[100..103].copy_from_slice(&[0xed, 0xa0, 0x80]);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("4096", |b| b.iter(|| replace_surrogates(black_box(&text))));
    group.finish();
}

/// A payload written in place after `begin_ext`, then framed by `end_ext` (which
/// shifts the payload over the unused header room: linear in its size).
fn ext(c: &mut Criterion) {
    let mut group = c.benchmark_group("msgpack/ext_in_place");
    for size in [16, 4 << 10, 1 << 20] {
        let payload = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &payload, |b, payload| {
            b.iter(|| {
                let mut w = Writer::with_capacity(CAPACITY);
                let mark = w.begin_ext(5).unwrap();
                w.write_raw(black_box(payload));
                w.end_ext(mark).unwrap();
                w.into_bytes()
            })
        });
    }
    group.finish();
}

/// One LangChain message as LangGraph's serializer lays it out: a pydantic v2 ext
/// holding `(module, class name, model_dump(), "model_validate_json")`.
fn write_message(w: &mut Writer, i: usize, id: &[u8], content: &[u8]) -> Result<(), EncodeError> {
    let mark = w.begin_ext(5)?;
    w.write_array_len(4)?;
    w.write_str(b"langchain_core.messages.ai")?;
    w.write_str(b"AIMessage")?;
    w.write_map_len(7)?;
    w.write_str(b"content")?;
    w.write_str(content)?;
    w.write_str(b"additional_kwargs")?;
    w.write_map_len(0)?;
    w.write_str(b"response_metadata")?;
    w.write_map_len(1)?;
    w.write_str(b"model_name")?;
    w.write_str(b"fake-model")?;
    w.write_str(b"type")?;
    w.write_str(b"ai")?;
    w.write_str(b"name")?;
    w.write_nil();
    w.write_str(b"id")?;
    w.write_str(id)?;
    w.write_str(b"usage_metadata")?;
    w.write_map_len(3)?;
    for (k, v) in [
        ("input_tokens", 12 * i),
        ("output_tokens", 30),
        ("total_tokens", 12 * i + 30),
    ] {
        w.write_str(k.as_bytes())?;
        w.write_i64(v as i64);
    }
    w.write_str(b"model_validate_json")?;
    w.end_ext(mark)
}

/// A checkpoint's `channel_values` with a `messages` list: every writer call a real
/// encode makes, none of the Python work around them.
fn messages(c: &mut Criterion) {
    let mut group = c.benchmark_group("msgpack/messages_state");
    let content = "The tool returned 42; the answer is forty-two. ".repeat(4);
    let ids: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("run-{i:08}-0000-0000-0000-000000000000").into_bytes())
        .collect();
    for n in [10, 100, 1000] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                let mut w = Writer::with_capacity(CAPACITY);
                w.write_map_len(2).unwrap();
                w.write_str(b"messages").unwrap();
                w.write_array_len(n).unwrap();
                for (i, id) in ids[..n].iter().enumerate() {
                    write_message(&mut w, i, id, black_box(content.as_bytes())).unwrap();
                }
                w.write_str(b"step").unwrap();
                w.write_i64(n as i64);
                w.into_bytes()
            })
        });
    }
    group.finish();
}

/// Reading back (Cargo feature `native-decoder`: the Rust reader is not in the default
/// build, where ormsgpack decodes): `cargo bench --features native-decoder --bench msgpack`.
#[cfg(feature = "native-decoder")]
mod reading {
    use std::hint::black_box;

    use _core::serde::decode::{decode, Builder};
    use _core::serde::Writer;
    use criterion::{BenchmarkId, Criterion, Throughput};

    use super::{write_message, CAPACITY};

    /// A builder that keeps nothing: what is left is the reader itself (markers, lengths,
    /// UTF-8 checks, nesting), the part of `msgpack_unpackb` that is not Python object
    /// construction. `python -m fast_langgraph.bench serde` measures the whole.
    struct Discard;

    impl Builder for Discard {
        type Value = ();
        type Map = ();
        type Error = ();
        fn nil(&mut self) -> Result<(), ()> {
            Ok(())
        }
        fn boolean(&mut self, _: bool) -> Result<(), ()> {
            Ok(())
        }
        fn int(&mut self, _: i64) -> Result<(), ()> {
            Ok(())
        }
        fn uint(&mut self, _: u64) -> Result<(), ()> {
            Ok(())
        }
        fn float(&mut self, _: f64) -> Result<(), ()> {
            Ok(())
        }
        fn str(&mut self, v: &str) -> Result<(), ()> {
            black_box(v);
            Ok(())
        }
        fn bin(&mut self, v: &[u8]) -> Result<(), ()> {
            black_box(v);
            Ok(())
        }
        fn array(&mut self, items: std::vec::Drain<'_, ()>) -> Result<(), ()> {
            items.for_each(drop);
            Ok(())
        }
        fn tuple(&mut self, items: std::vec::Drain<'_, ()>) -> Result<(), ()> {
            items.for_each(drop);
            Ok(())
        }
        fn map(&mut self, _: usize) -> Result<(), ()> {
            Ok(())
        }
        fn map_insert(&mut self, _: &mut (), _: (), _: ()) -> Result<(), ()> {
            Ok(())
        }
        fn map_end(&mut self, _: ()) -> Result<(), ()> {
            Ok(())
        }
        fn ext(&mut self, _: i8, payload: &[u8]) -> Result<(), ()> {
            // LangGraph's payloads are msgpack too: read them, as its ext hook would.
            decode(payload, &mut Discard, &mut Vec::new()).map_err(|_| ())
        }
    }

    /// Reading back the messages state `messages` writes.
    pub fn decoding(c: &mut Criterion) {
        let mut group = c.benchmark_group("msgpack/decode_messages_state");
        let content = "The tool returned 42; the answer is forty-two. ".repeat(4);
        for n in [10usize, 100, 1000] {
            let mut w = Writer::with_capacity(CAPACITY);
            w.write_map_len(2).unwrap();
            w.write_str(b"messages").unwrap();
            w.write_array_len(n).unwrap();
            for i in 0..n {
                let id = format!("run-{i:08}-0000-0000-0000-000000000000").into_bytes();
                write_message(&mut w, i, &id, content.as_bytes()).unwrap();
            }
            w.write_str(b"step").unwrap();
            w.write_i64(n as i64);
            let bytes = w.into_bytes();
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &bytes, |b, bytes| {
                let mut stack = Vec::new();
                b.iter(|| decode(black_box(bytes), &mut Discard, &mut stack).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = bytes, ext, messages
}
#[cfg(feature = "native-decoder")]
criterion_group! {
    name = reader;
    config = common::quick();
    targets = reading::decoding
}
#[cfg(not(feature = "native-decoder"))]
criterion_main!(benches);
#[cfg(feature = "native-decoder")]
criterion_main!(benches, reader);
