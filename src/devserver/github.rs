//! GitHub API stand-in (in progress).
