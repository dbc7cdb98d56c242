//! The TLS probe (in progress).
