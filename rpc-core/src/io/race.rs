//! Polling two futures in a chosen order, for the I/O task's turns.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Waits for whichever of `a` and `b` is ready first, polling `a` first when
/// `a_first` and `b` first otherwise. The caller pins both: taken by value,
/// an async fn would store each future twice in every idle connection.
pub(super) fn race<'a, T, A, B>(
    mut a: Pin<&'a mut A>,
    mut b: Pin<&'a mut B>,
    a_first: bool,
) -> impl Future<Output = T> + 'a
where
    A: Future<Output = T>,
    B: Future<Output = T>,
{
    std::future::poll_fn(move |cx| {
        if a_first {
            if let Poll::Ready(out) = a.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            b.as_mut().poll(cx)
        } else {
            if let Poll::Ready(out) = b.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            a.as_mut().poll(cx)
        }
    })
}
