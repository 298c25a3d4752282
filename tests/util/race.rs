//! Cancel-safety races: a future polled once (or until a short timer fires) and then
//! dropped unless it completed.

use std::future::Future;
use std::task::Poll;

/// Polls `fut` once: its output if that poll completed it, else `None` (it is dropped).
pub(crate) async fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Races `fut` against a zero timer, two ways by `round`: even rounds poll it exactly once
/// ([`poll_once`]); odd rounds give it to `tokio::time::timeout(Duration::ZERO, ..)`. (That
/// timer does not fire on the first poll: tokio rounds its deadline up to the next 1 ms
/// tick, so the future may be woken and polled again before it is dropped; together the two
/// drop futures both right after their first `Pending` and after later wakes.)
#[cfg(feature = "tokio")]
pub(crate) async fn race<F: Future>(round: usize, fut: F) -> Option<F::Output> {
    if round % 2 == 0 {
        poll_once(fut).await
    } else {
        tokio::time::timeout(std::time::Duration::ZERO, fut)
            .await
            .ok()
    }
}

/// The same without tokio (any executor): even rounds poll `fut` once ([`poll_once`]); odd
/// rounds race it against an async-io timer of a few microseconds, so it may be woken and
/// polled again before it is dropped.
#[cfg(feature = "async-io")]
pub(crate) async fn race_aio<F: Future>(round: usize, fut: F) -> Option<F::Output> {
    if round % 2 == 0 {
        poll_once(fut).await
    } else {
        let timer = async {
            async_io::Timer::after(std::time::Duration::from_micros(20)).await;
            None
        };
        futures_lite::future::or(async { Some(fut.await) }, timer).await
    }
}
