//! Benchmark: our renderer against fluidsynth (filled in below).
fn main() {}
