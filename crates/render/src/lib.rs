//! TODO(skeleton): filled in by the render work.
