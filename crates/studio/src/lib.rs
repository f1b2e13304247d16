//! TODO(skeleton): filled in by the studio work.
