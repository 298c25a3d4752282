//! Shared-memory streams (issue 13), crate-internal groundwork: the ring that each direction
//! of a future `ShmStream` will use. The OS side (a sealed memfd, its mapping, the futex
//! waiter) is in `sys::unix::shm`.

pub(crate) mod ring;
