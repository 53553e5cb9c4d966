//! Shared by the criterion benches: a quick default profile, so the whole of
//! `cargo bench` stays around a minute on 2 cores. Criterion's own flags override
//! it for steadier numbers, e.g. `cargo bench -- --warm-up-time 3 --measurement-time 10`.

use std::time::Duration;

use criterion::Criterion;

pub fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
}
