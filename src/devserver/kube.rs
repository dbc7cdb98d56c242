//! A kube-apiserver stand-in (in progress).
