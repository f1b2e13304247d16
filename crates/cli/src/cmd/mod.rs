//! One module per subcommand, each with its `Args` and `run`.

pub mod calibrate;
pub mod dataset;
pub mod eval;
pub mod generate;
pub mod inspect;
pub mod migrate;
pub mod models;
pub mod render;
pub mod samples;
pub mod serve;
pub mod train;
pub mod worker;
