//! TODO(skeleton): filled in by the model work.
