//! The accept loop of every listener (main and Huawei), with the limits a
//! server facing untrusted clients needs, which `axum::serve` does not set:
//!
//! * a **connection cap**: at most `max_connections` connections are served
//!   at once; one beyond the cap is answered `503` with `Retry-After: 1` and
//!   closed at once;
//! * a **header-read timeout**: a request whose header is not complete
//!   within `header_timeout` has its connection closed (hyper's
//!   `header_read_timeout`; the clock also runs while a kept-alive
//!   connection waits for its next request);
//! * an **idle timeout**: a connection with no request in progress and no
//!   byte read or written for `idle_timeout` is closed;
//! * a **request timeout**: a request not answered within `request_timeout`
//!   is answered `503`.
//!
//! Each request also gets its peer address as `ConnectInfo<SocketAddr>`, so
//! the login throttle knows where an attempt comes from.

use crate::metrics::HttpMetrics;
use crate::native::error::ApiError;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use nicplane_domain::Error;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// Limits of a listener; the defaults are `nicplane serve`'s.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Default of `--header-timeout`, in seconds.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// Longest header timeout accepted.
pub const MAX_HEADER_TIMEOUT_SECS: u64 = 15;
/// Default of `--request-timeout`, in seconds.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 60;
/// Default of `--idle-timeout`, in seconds.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
/// Default of `--max-connections` (per listener).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS),
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The answer to a connection beyond the cap.
const OVER_CAP: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 98\r\n\r\n\
{\"error\": {\"status\": 503, \"code\": \"Unavailable\", \"message\": \"Too many connections; retry later.\"}}";

/// When a connection last moved a byte, and whether a request is in progress.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Marks a request in progress for as long as it lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: Arc<Activity>) -> Self {
        a.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(a)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP stream that records its activity.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    /// Forwarded, so that hyper writes a response's head and body with one
    /// `writev` instead of first copying the body behind the head.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Where a listener counts what happens before a request reaches the
/// router: connections refused over the cap, requests answered 503 by the
/// request timeout (`nicplane_http_connections_refused_total`,
/// `nicplane_http_request_timeouts_total`).
#[derive(Debug, Clone)]
pub struct Measure {
    pub metrics: Arc<HttpMetrics>,
    /// The `listener` label: `main` or `huawei`.
    pub listener: &'static str,
}

/// Serve `app` on `listener` with `limits` until `shutdown` completes, then
/// let open connections finish (at most `request_timeout`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_measured(listener, app, limits, shutdown, None).await
}

/// [`serve`], counting refusals and timeouts into `measure`.
pub async fn serve_measured(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
    measure: Option<Measure>,
) -> io::Result<()> {
    if let Some(m) = &measure {
        m.metrics.listener_started(m.listener);
    }
    let max = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(peer = %remote, max, "connection refused: too many connections");
            if let Some(m) = &measure {
                m.metrics.connection_refused(m.listener);
            }
            let _ = stream.try_write(OVER_CAP);
            continue;
        };
        let app = app.clone();
        let limits = limits.clone();
        let stop = stop_rx.clone();
        let measure = measure.clone();
        tokio::spawn(async move {
            serve_connection(stream, remote, app, &limits, stop, measure).await;
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(limits.request_timeout, slots.acquire_many(max as u32)).await;
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    limits: &ServerLimits,
    mut stop: watch::Receiver<bool>,
    measure: Option<Measure>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let request_timeout = limits.request_timeout;
    let a = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let mut app = app.clone();
        let busy = Busy::new(a.clone());
        req.extensions_mut().insert(ConnectInfo(remote));
        let measure = measure.clone();
        async move {
            let call = tower::Service::call(&mut app, req.map(Body::new));
            let resp = match tokio::time::timeout(request_timeout, call).await {
                Ok(Ok(r)) => r,
                Ok(Err(never)) => match never {},
                Err(_) => {
                    if let Some(m) = &measure {
                        m.metrics.request_timed_out(m.listener);
                    }
                    ApiError(Error::unavailable(format!(
                        "The request took longer than {} seconds.",
                        request_timeout.as_secs()
                    )))
                    .into_response()
                }
            };
            drop(busy);
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let check = (limits.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut tick = tokio::time::interval(check);
    let mut closing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(peer = %remote, error = %e, "connection closed");
                }
                break;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                if activity.in_flight.load(Ordering::SeqCst) == 0
                    && activity.idle_for() >= limits.idle_timeout
                {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_over_cap_answer_has_a_correct_length() {
        let text = std::str::from_utf8(OVER_CAP).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["status"], 503);
    }
}
