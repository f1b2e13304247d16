//! All integration tests of this crate in one test binary (`autotests = false` in Cargo.toml):
//! one binary per file meant linking the whole dependency graph once per file, minutes and GiBs
//! of a cold CI build. (orchestrion-render keeps its own binaries: its memory test counts heap
//! bytes through a global allocator, which must see that test alone.)

mod gan;
mod learning;
mod quality;
