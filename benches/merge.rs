//! State merge (src/py/merge.rs): `deep_merge` and `langgraph_state_update` on Python
//! dicts, run in an embedded interpreter (they operate on Python objects by design).

// A benchmark that cannot set up its input should stop at once: unwrap is the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;

use _core::py::merge::{langgraph_state_update, merge_into};
use criterion::{criterion_group, criterion_main, Criterion};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// `depth` levels of `width` keys, leaves tagged with `tag`.
fn nested<'py>(py: Python<'py>, depth: usize, width: usize, tag: &str) -> Bound<'py, PyDict> {
    let d = PyDict::new(py);
    for i in 0..width {
        let key = format!("k{i}");
        if depth == 0 {
            d.set_item(key, format!("{tag}{i}")).unwrap();
        } else {
            d.set_item(key, nested(py, depth - 1, width, tag)).unwrap();
        }
    }
    d
}

fn merge(c: &mut Criterion) {
    Python::initialize();
    Python::attach(|py| {
        let mut group = c.benchmark_group("merge");
        let flat_a = nested(py, 0, 5, "a");
        let flat_b = nested(py, 0, 5, "b");
        group.bench_function("deep_merge/5_flat_keys", |b| {
            b.iter(|| merge_into(black_box(&flat_a), black_box(&flat_b), 0).unwrap())
        });
        let deep_a = nested(py, 3, 6, "a");
        let deep_b = nested(py, 3, 6, "b");
        group.bench_function("deep_merge/4_levels_x_6_keys", |b| {
            b.iter(|| merge_into(black_box(&deep_a), black_box(&deep_b), 0).unwrap())
        });

        let state = PyDict::new(py);
        for i in 0..200 {
            state.set_item(format!("k{i}"), i).unwrap();
        }
        state
            .set_item("messages", PyList::new(py, 0..1000).unwrap())
            .unwrap();
        let update = PyDict::new(py);
        for i in (0..200).step_by(2) {
            update.set_item(format!("k{i}"), -i).unwrap();
        }
        update
            .set_item("messages", PyList::new(py, 0..10).unwrap())
            .unwrap();
        let append = PyList::new(py, ["messages"]).unwrap();
        group.bench_function("state_update/200_keys_1000_item_list", |b| {
            b.iter(|| {
                langgraph_state_update(black_box(&state), black_box(&update), Some(&append))
                    .unwrap()
            })
        });
        group.finish();
    });
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = merge
}
criterion_main!(benches);
