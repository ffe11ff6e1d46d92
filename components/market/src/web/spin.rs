//! The bridge between Spin's WASI HTTP bindings and the app's own [`Request`]/[`Response`]:
//! reads the body up to the limit, and writes every header, including repeated ones
//! such as `Set-Cookie`. Each request gets its id here, carried back in the response,
//! and its log line when it ends.

use futures::StreamExt;
use http::header::{CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

use crate::observe::request_id::{self, REQUEST_ID_HEADER};
use crate::observe::{log, record};
use crate::web::assets;
use crate::web::http::{self, Body, MAX_BODY_BYTES, Method, Request, Response};

/// The most `blocking-write-and-flush` accepts in one call (WASI 0.2).
const MAX_BLOCKING_WRITE: usize = 4096;

/// What a component tells the bridge about itself: its name (in the log lines) and the
/// stylesheet its pages link (`crate::stylesheet_path!`, computed in the component).
pub struct Component {
    pub name: &'static str,
    pub stylesheet: &'static str,
}

/// Reads the request, lets `handle` (of `component`) answer it, and sends the answer
/// (made HTTPS-only when the request arrived over HTTPS) with the request's id; then logs
/// the request's line.
pub async fn serve(
    component: Component,
    incoming: IncomingRequest,
    out: ResponseOutparam,
    handle: impl FnOnce(&Request) -> Response,
) {
    let request = read_request(incoming).await;
    answer(component, &request, out, handle);
}

/// Like [`serve`], for a component whose requests carry photos: the body is left unread
/// ([`Body::Unread`]) and `handle` reads it from the stream it is given, as far as it
/// needs, so one large upload is never held whole beside the next.
pub fn serve_streaming(
    component: Component,
    incoming: IncomingRequest,
    out: ResponseOutparam,
    handle: impl FnOnce(&Request, &mut dyn std::io::Read) -> Response,
) {
    let request = read_head(&incoming, Body::Unread);
    let mut body = BodyReader::new(&incoming);
    answer(component, &request, out, |request| {
        handle(request, &mut body)
    });
}

fn answer(
    component: Component,
    request: &Request,
    out: ResponseOutparam,
    handle: impl FnOnce(&Request) -> Response,
) {
    assets::use_stylesheet(component.stylesheet);
    let id = request_id::from_header(request.header(REQUEST_ID_HEADER));
    record::begin(component.name, id.clone(), request.method.as_str());
    let mut response = handle(request);
    if http::arrived_over_https(request) {
        response = http::secure_for_https(response);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let status = if write_response(out, response) {
        status
    } else {
        // Spin answers 500 (or cuts the response short) when the guest did not finish it.
        500
    };
    log::request_ended(status);
}

/// A request's body as a blocking `Read`, in reads of at most 64 KiB: what a streaming
/// component gets instead of the whole body.
struct BodyReader {
    // The stream must be dropped before the body it came from.
    stream: Option<wasi::io::streams::InputStream>,
    _body: Option<Box<dyn std::any::Any>>,
    chunk: Vec<u8>,
    at: usize,
}

impl BodyReader {
    fn new(incoming: &IncomingRequest) -> Self {
        let body = incoming.consume().ok();
        let stream = body.as_ref().and_then(|body| body.stream().ok());
        Self {
            stream,
            _body: body.map(|body| Box::new(body) as Box<dyn std::any::Any>),
            chunk: Vec::new(),
            at: 0,
        }
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        self.stream.take();
    }
}

impl std::io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.chunk.len() {
            let Some(stream) = &self.stream else {
                return Err(std::io::Error::other("the request body cannot be read"));
            };
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Err(wasi::io::streams::StreamError::Closed) => return Ok(0),
                Err(error) => return Err(std::io::Error::other(format!("{error:?}"))),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

async fn read_request(incoming: IncomingRequest) -> Request {
    let head = read_head(&incoming, Body::Unread);
    let declared_too_large = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES as u64);
    let body = if declared_too_large {
        Body::TooLarge
    } else {
        read_body(incoming).await
    };
    Request { body, ..head }
}

/// The request line and headers, with `body`.
fn read_head(incoming: &IncomingRequest, body: Body) -> Request {
    let method = Method::from(incoming.method());
    let path_with_query = incoming.path_with_query().unwrap_or_else(|| "/".into());
    let authority = incoming.authority();
    let mut headers = HeaderMap::new();
    for (name, value) in incoming.headers().entries() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            headers.append(name, value);
        }
    }
    Request::new(method, &path_with_query, headers, body).with_authority(authority)
}

async fn read_body(incoming: IncomingRequest) -> Body {
    let mut stream = incoming.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Body::Unreadable;
        };
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            return Body::TooLarge;
        }
    }
    Body::Complete(body)
}

/// Whether the response went to Spin whole.
fn write_response(out: ResponseOutparam, response: Response) -> bool {
    let (parts, body) = response.into_parts();
    let entries: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let headers = match Fields::from_list(&entries) {
        Ok(headers) => headers,
        Err(e) => {
            // Every header here was built by the app; a refusal is a bug. Spin answers 500.
            log::error(500, &format!("response headers refused: {e:?}"));
            return false;
        }
    };
    let outgoing = OutgoingResponse::new(headers);
    if outgoing.set_status_code(parts.status.as_u16()).is_err() {
        log::error(500, &format!("status code {} refused", parts.status));
        return false;
    }
    send(out, outgoing, &body)
}

/// Hands the response to Spin with its body. When the body's stream takes the whole body
/// in one write (Spin 4.0.2 allows 1 MiB, far more than any page here), the body is written and finished
/// before the response goes to Spin. Why: Spin's server sends what it has as soon as it
/// has it, with Nagle's algorithm left on; a part that follows a moment later (the body,
/// or the end of a chunked body) then waits for the client's delayed ACK, 40 ms on Linux.
/// That happened on every request whose handler made Spin block a thread (each key-value
/// or variable read does). With the body complete first, the response leaves in one write.
fn send(out: ResponseOutparam, outgoing: OutgoingResponse, body: &[u8]) -> bool {
    // A fresh response's body can be taken, and written to, once.
    let Ok(outgoing_body) = outgoing.body() else {
        log::error(500, "response body already taken");
        return false;
    };
    let Ok(stream) = outgoing_body.write() else {
        log::error(500, "response body not writable");
        return false;
    };
    let room = stream.check_write().unwrap_or(0);
    let written = if u64::try_from(body.len()).is_ok_and(|len| len <= room) {
        let written = body.is_empty() || stream.write(body).and_then(|()| stream.flush()).is_ok();
        drop(stream);
        let finished = written && finish(outgoing_body);
        out.set(outgoing);
        finished
    } else {
        out.set(outgoing);
        let written = body
            .chunks(MAX_BLOCKING_WRITE)
            .all(|chunk| stream.blocking_write_and_flush(chunk).is_ok());
        drop(stream);
        written && finish(outgoing_body)
    };
    if !written {
        // Unfinished, Spin cuts the response short rather than pass it as complete (the
        // client may also have gone away).
        log::error(500, "could not send the response body");
    }
    written
}

fn finish(body: OutgoingBody) -> bool {
    OutgoingBody::finish(body, None).is_ok()
}
