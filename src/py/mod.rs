//! PyO3 glue: the only place where the domain modules meet Python.

pub mod cache;
pub mod checkpoint;
pub mod serde;
pub mod serde_decode;
