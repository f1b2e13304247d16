//! TODO(skeleton): filled in by the metrics work.
