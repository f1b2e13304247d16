//! TODO(skeleton): filled in by the dataset work.
