//! hemtid's patch (see `PATCH.md` at the crate's root): bodies for the
//! answers the HTTP/1 dispatcher gives before any service runs, to a
//! malformed request head (400), a head too large (431) or a head too slow
//! (408). Published actix-http sends them with an empty body and no way
//! for the application to fill it.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::{header::HeaderMap, StatusCode};

/// The headers (each set on the answer, `Content-Type` among them) and
/// the body of the dispatcher's answer of a status, or `None` to keep it
/// as published actix-http sends it.
pub type ErrorBody = fn(StatusCode) -> Option<(HeaderMap, Bytes)>;

static BODY: OnceLock<ErrorBody> = OnceLock::new();

/// Sets the process's `ErrorBody` once; returns `false`, changing nothing,
/// if it was set already.
pub fn set(body: ErrorBody) -> bool {
    BODY.set(body).is_ok()
}

/// The body set for `status`, if any.
pub(crate) fn of(status: StatusCode) -> Option<(HeaderMap, Bytes)> {
    BODY.get().and_then(|body| body(status))
}
