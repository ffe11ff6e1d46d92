//! Photos in the benchmark: one seller's item gets 12-megapixel phone photos through
//! nginx's API route, each timed from the client and read back from Spin's log line
//! (`photo_us`: decoding, orienting, resizing and encoding; `memory_kib`: the instance's
//! linear memory, whose size is its peak); the last photo's thumbnail is then the cached
//! read the edge workloads measure.

use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use market_tests::spin::SpinUp;
use market_tests::testing::{json_lines, send_to, shopper};

/// How many uploads are timed (a listing takes at most 8 photos).
const UPLOADS: usize = 5;

/// One timed upload.
#[derive(Debug, Clone, Copy)]
pub struct Upload {
    /// From the first byte sent to the last byte of the answer, through nginx.
    pub wall: Duration,
    /// Spin's own processing of the photo, from its log line.
    pub processing: Option<Duration>,
    pub memory_kib: Option<u64>,
}

/// Lists an item as the shopper and uploads [`UPLOADS`] phone photos to it through
/// `url` (nginx in front of `spin`); the last photo's thumbnail path, and the uploads.
pub async fn upload_photos(
    url: &str,
    spin: Option<&SpinUp>,
) -> anyhow::Result<(String, Vec<Upload>)> {
    let addr = url.trim_start_matches("http://").parse()?;
    let bearer = shopper().bearer();
    let created = send_to(
        addr,
        Method::POST,
        "/api/items",
        &[("content-type", "application/json"), ("authorization", &bearer)],
        Bytes::from_static(
            br#"{"name":"Photographed bench item","quantity":1,"price":"80.00","description":"With photos"}"#,
        ),
    )
    .await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{}", created.text());
    let item = created.json()["id"].as_i64().context("the item's id")?;
    let mut uploads = Vec::new();
    let mut thumbnail = String::new();
    for n in 0..UPLOADS {
        // A different photo each time (orientation 6, as phones hold them upright).
        let photo = market_tests::images::phone_jpeg(4032 - n as u32 * 8, 3024, 6, true);
        let started = Instant::now();
        let response = send_to(
            addr,
            Method::POST,
            &format!("/api/items/{item}/photos"),
            &[("content-type", "image/jpeg"), ("authorization", &bearer)],
            Bytes::from(photo),
        )
        .await?;
        let wall = started.elapsed();
        anyhow::ensure!(
            response.status == StatusCode::CREATED,
            "{}",
            response.text()
        );
        thumbnail = response.json()["thumbnail_url"]
            .as_str()
            .context("a thumbnail URL")?
            .to_owned();
        let id = response
            .header("x-request-id")
            .unwrap_or_default()
            .to_owned();
        // The log line is written as the request ends: give it a moment.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let line = spin.and_then(|spin| {
            json_lines(&spin.log())
                .into_iter()
                .find(|line| line["kind"] == "request" && line["request_id"] == id.as_str())
        });
        uploads.push(Upload {
            wall,
            processing: line
                .as_ref()
                .and_then(|line| line["photo_us"].as_u64())
                .map(Duration::from_micros),
            memory_kib: line.as_ref().and_then(|line| line["memory_kib"].as_u64()),
        });
    }
    Ok((thumbnail, uploads))
}
