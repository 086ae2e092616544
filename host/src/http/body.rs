//! Response bodies and the small responses every route builds.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// A body known in full, or streamed.
pub type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// A body known in full.
pub fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

pub fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let body = full(Bytes::from_static(text.as_bytes()));
    let mut response = with_type(Response::new(body), "text/plain; charset=utf-8");
    *response.status_mut() = status;
    response
}

pub fn with_type(mut response: Response<Body>, content_type: &'static str) -> Response<Body> {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
