//! The integration tests: one binary (as uv's `tests/it`), so the helpers in `common` are
//! compiled and linked once. Each module runs the real `paxx-compose` built by cargo.

mod common;

mod completions;
mod compose;
mod errors;
mod inspect;
mod msrv;
mod services;
mod tooling;
mod upgrade;
mod upgrade_safety;
