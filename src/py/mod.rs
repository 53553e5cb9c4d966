//! PyO3 glue: the only place where the domain modules meet Python.

pub mod cache;
pub mod channels;
pub mod checkpoint;
pub mod merge;
pub mod message_cache;
pub mod message_codec;
pub mod messages;
pub mod serde;
