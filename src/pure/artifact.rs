//! Artifacts (in progress).
