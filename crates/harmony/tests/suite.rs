//! Integration tests of the harmony crate, one module per file.

mod recognition;
