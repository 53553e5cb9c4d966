//! Rust core of fast_langgraph, importable as `fast_langgraph._core`.
//!
//! Domain code lives in its own modules (free of Python so `cargo test` covers it);
//! this file is the PyO3 glue that exposes it.

pub mod cache;
pub mod checkpoint;
/// PyO3 glue (public so the benches in benches/ can reach the Python-object paths).
pub mod py;
pub mod serde;

use pyo3::prelude::*;

/// Version of the Rust core; the Python package checks it matches its own.
pub const CORE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether this core was compiled with optimizations (a debug core is far slower).
pub const fn is_release_build() -> bool {
    !cfg!(debug_assertions)
}

/// Describe the build of the loaded Rust core.
#[pyfunction]
fn build_info(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    let info = pyo3::types::PyDict::new(py);
    info.set_item("version", CORE_VERSION)?;
    info.set_item(
        "profile",
        if is_release_build() {
            "release"
        } else {
            "debug"
        },
    )?;
    info.set_item("pyo3_abi", "abi3-py39")?;
    Ok(info)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", CORE_VERSION)?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    py::cache::register(m)?;
    py::serde::register(m)?;
    py::message_codec::register(m)?;
    py::message_cache::register(m)?;
    py::checkpoint::register(m)?;
    py::messages::register(m)?;
    py::merge::register(m)?;
    py::channels::register(m)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_semver() {
        assert_eq!(CORE_VERSION.split('.').count(), 3);
    }
}
