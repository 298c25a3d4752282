//! Compile-time assertions of the auto traits (`Send`, `Sync`, `Unpin`) of every public
//! type, per platform and per feature, as tokio's `tests/async_send_sync.rs` does: a type
//! that gains or loses one of them fails the build of this test, so the change is seen and
//! made on purpose (losing `Send` or `Sync` breaks users; gaining one is a promise).
//!
//! `assert_auto!(T: Send & Sync & !Unpin)` states all three for `T`; a type with a
//! lifetime is checked at `'static`. Nothing runs: the checks are type-checked closures.
//! A failure reads `E0277 ... cannot be sent/shared/unpinned` at a line that claims the
//! trait (the type lost it), or `E0283 type annotations needed` at a line with `!Trait`
//! (the type gained it).
//!
//! Covered: every public type reachable from the crate root (`local_socket`,
//! `local_socket::message`, `unnamed_pipe`, `handle`; with feature `tokio` the async types
//! and the futures of the `async fn`s; on Windows `os::windows::named_pipe`). `os::unix`
//! holds functions and an extension trait only. Feature `futures-io` adds no types.
#![allow(dead_code)]

/// The checks behind `assert_auto!`: a bound for "has", and for "lacks" two blanket impls
/// of a helper trait whose item is ambiguous to name exactly when the type has the trait
/// (the `static_assertions::assert_not_impl_any` trick).
mod check {
    pub(crate) fn send<T: ?Sized + Send>() {}
    pub(crate) fn sync<T: ?Sized + Sync>() {}
    pub(crate) fn unpin<T: ?Sized + Unpin>() {}

    pub(crate) struct Invalid;

    pub(crate) trait AmbiguousIfSend<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<Invalid> for T {}

    pub(crate) trait AmbiguousIfSync<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    impl<T: ?Sized + Sync> AmbiguousIfSync<Invalid> for T {}

    pub(crate) trait AmbiguousIfUnpin<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
    impl<T: ?Sized + Unpin> AmbiguousIfUnpin<Invalid> for T {}
}

/// Value versions of the checks, for the futures of `async fn`s (a type that cannot be
/// named).
#[cfg(feature = "tokio")]
mod check_val {
    pub(crate) fn send<T: ?Sized + Send>(_: &T) {}
    pub(crate) fn sync<T: ?Sized + Sync>(_: &T) {}
    pub(crate) fn unpin<T: ?Sized + Unpin>(_: &T) {}

    pub(crate) trait AmbiguousIfSend<A> {
        fn some_item(&self) {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<super::check::Invalid> for T {}

    pub(crate) trait AmbiguousIfSync<A> {
        fn some_item(&self) {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    impl<T: ?Sized + Sync> AmbiguousIfSync<super::check::Invalid> for T {}

    pub(crate) trait AmbiguousIfUnpin<A> {
        fn some_item(&self) {}
    }
    impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
    impl<T: ?Sized + Unpin> AmbiguousIfUnpin<super::check::Invalid> for T {}

    /// A value of any type, for building the future of a call in code that never runs.
    pub(crate) fn any<T>() -> T {
        unreachable!()
    }
}

/// `assert_future!(expr: Send & !Sync & !Unpin)`: the same for the value of `expr` (the
/// future of an `async fn` call, its arguments from `check_val::any()`), never run.
#[cfg(feature = "tokio")]
macro_rules! assert_future {
    (@has [$v:ident] Send) => { check_val::send(&$v) };
    (@has [$v:ident] Sync) => { check_val::sync(&$v) };
    (@has [$v:ident] Unpin) => { check_val::unpin(&$v) };
    (@lacks [$v:ident] Send) => { check_val::AmbiguousIfSend::some_item(&$v) };
    (@lacks [$v:ident] Sync) => { check_val::AmbiguousIfSync::some_item(&$v) };
    (@lacks [$v:ident] Unpin) => { check_val::AmbiguousIfUnpin::some_item(&$v) };
    (@one [$v:ident] ! $tr:ident) => { assert_future!(@lacks [$v] $tr) };
    (@one [$v:ident] $tr:ident) => { assert_future!(@has [$v] $tr) };
    ($e:expr => $($a:ident)? $(!$na:ident)? & $($b:ident)? $(!$nb:ident)? & $($c:ident)? $(!$nc:ident)?) => {
        #[allow(unreachable_code, unused_variables)]
        const _: fn() = || {
            let future = $e;
            assert_future!(@one [future] $($a)? $(!$na)?);
            assert_future!(@one [future] $($b)? $(!$nb)?);
            assert_future!(@one [future] $($c)? $(!$nc)?);
        };
    };
}

/// `assert_auto!(Type: Send & !Sync & Unpin)`: all three traits, each with or without `!`.
macro_rules! assert_auto {
    (@has [$ty:ty] Send) => { check::send::<$ty>() };
    (@has [$ty:ty] Sync) => { check::sync::<$ty>() };
    (@has [$ty:ty] Unpin) => { check::unpin::<$ty>() };
    (@lacks [$ty:ty] Send) => { let _ = <$ty as check::AmbiguousIfSend<_>>::some_item; };
    (@lacks [$ty:ty] Sync) => { let _ = <$ty as check::AmbiguousIfSync<_>>::some_item; };
    (@lacks [$ty:ty] Unpin) => { let _ = <$ty as check::AmbiguousIfUnpin<_>>::some_item; };
    (@one [$ty:ty] ! $tr:ident) => { assert_auto!(@lacks [$ty] $tr) };
    (@one [$ty:ty] $tr:ident) => { assert_auto!(@has [$ty] $tr) };
    ($ty:ty: $($a:ident)? $(!$na:ident)? & $($b:ident)? $(!$nb:ident)? & $($c:ident)? $(!$nc:ident)?) => {
        const _: fn() = || {
            assert_auto!(@one [$ty] $($a)? $(!$na)?);
            assert_auto!(@one [$ty] $($b)? $(!$nb)?);
            assert_auto!(@one [$ty] $($c)? $(!$nc)?);
        };
    };
}

mod portable {
    use super::check;
    use localipc::local_socket::*;
    use localipc::unnamed_pipe;

    assert_auto!(LocalSocketListener: Send & Sync & Unpin);
    assert_auto!(Incoming<'static>: Send & Sync & Unpin);
    assert_auto!(ListenerOptions: Send & Sync & Unpin);
    assert_auto!(AcceptStopper: Send & Sync & Unpin);
    assert_auto!(LocalSocketStream: Send & Sync & Unpin);
    assert_auto!(ConnectOptions: Send & Sync & Unpin);
    assert_auto!(PeerCreds: Send & Sync & Unpin);
    assert_auto!(LocalSocketName<'static>: Send & Sync & Unpin);
    assert_auto!(NameTypeSupport: Send & Sync & Unpin);
    assert_auto!(message::MessageListener: Send & Sync & Unpin);
    assert_auto!(message::MessageStream: Send & Sync & Unpin);
    assert_auto!(message::Incoming<'static>: Send & Sync & Unpin);
    assert_auto!(message::RecvResult: Send & Sync & Unpin);
    assert_auto!(unnamed_pipe::Sender: Send & Sync & Unpin);
    assert_auto!(unnamed_pipe::Recver: Send & Sync & Unpin);
    assert_auto!(localipc::handle::OwnedHandle: Send & Sync & Unpin);
    assert_auto!(localipc::handle::BorrowedHandle<'static>: Send & Sync & Unpin);
}

#[cfg(feature = "tokio")]
mod tokio {
    use super::check;
    use super::check_val::{self, any};
    use localipc::local_socket::tokio::*;
    use localipc::unnamed_pipe::tokio as pipe;

    assert_auto!(LocalSocketListener: Send & Sync & Unpin);
    // Only a `&LocalSocketListener`: no boxed `accept` future (which made it `!Sync`).
    assert_auto!(Incoming<'static>: Send & Sync & Unpin);
    assert_auto!(LocalSocketStream: Send & Sync & Unpin);
    assert_auto!(ReadHalf<'static>: Send & Sync & Unpin);
    assert_auto!(WriteHalf<'static>: Send & Sync & Unpin);
    assert_auto!(OwnedReadHalf: Send & Sync & Unpin);
    assert_auto!(OwnedWriteHalf: Send & Sync & Unpin);
    assert_auto!(ReuniteError: Send & Sync & Unpin);
    assert_auto!(pipe::Sender: Send & Sync & Unpin);
    assert_auto!(pipe::Recver: Send & Sync & Unpin);

    // The futures of the `async fn`s: `Send`, so that `tokio::spawn` takes them.
    assert_future!(any::<&LocalSocketListener>().accept() => Send & Sync & !Unpin);
    assert_future!(LocalSocketStream::connect(any::<&str>()) => Send & Sync & !Unpin);
    assert_future!(LocalSocketStream::connect(any::<String>()) => Send & Sync & !Unpin);
}

#[cfg(windows)]
mod windows {
    use super::check;
    use localipc::os::windows::named_pipe::*;

    assert_auto!(PipeListener: Send & Sync & Unpin);
    assert_auto!(PipeListenerOptions: Send & Sync & Unpin);
    assert_auto!(PipeStream: Send & Sync & Unpin);
    assert_auto!(PipeClientOptions: Send & Sync & Unpin);
    assert_auto!(Recv: Send & Sync & Unpin);
    assert_auto!(PipeMode: Send & Sync & Unpin);
    assert_auto!(PipeDirection: Send & Sync & Unpin);
}
