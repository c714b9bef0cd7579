//! Photos of signalements: accepted as JPEG, PNG or WebP up to a size limit
//! (of the file and of the decoded image), decoded off the async threads by
//! at most [`DECODERS`] at a time, re-encoded (which drops every metadata
//! block: EXIF, GPS, comments, ICC) after applying the camera's orientation,
//! shrunk to a reasonable size, and shown only to staff who read the report
//! (audited) — never on the follow-up page, in Open311 or in e-mails.

use std::io::Cursor;
use std::sync::LazyLock;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use veille_domain::{Action, ReportId};
use veille_storage::audit;
use veille_storage::reports::{self, Photo};

use crate::error::{Error, Result};
use crate::{App, Caller};

/// Widest or tallest image decoded, in pixels.
pub const MAX_DECODED_SIDE: u32 = 10_000;
/// Most pixels decoded (a 6,000 × 4,000 camera photo passes; a
/// 12,000 × 12,000 bomb does not).
pub const MAX_DECODED_PIXELS: u64 = 25_000_000;
/// Most memory the decoder may allocate.
pub const MAX_DECODED_BYTES: u64 = 128 * 1024 * 1024;
/// Photos decoded at the same time (each on a blocking thread).
pub const DECODERS: usize = 2;

static DECODING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| tokio::sync::Semaphore::new(DECODERS));

/// Largest photo accepted, in bytes (stated on the form and in the refusal).
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// The same, in megabytes, for the texts.
pub const MAX_MEGABYTES: &str = "8";
/// Longest side of a stored photo, in pixels.
pub const MAX_SIDE: u32 = 1600;
/// How long a photo accepted on a form shown again is kept for its resubmission.
pub const KEEP_SECONDS: i64 = 3600;

/// Why a photo was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Over [`MAX_BYTES`].
    TooLarge,
    /// Not a JPEG, PNG or WebP image.
    WrongType,
    /// Claims to be one but does not decode (or is absurdly large once decoded).
    Unreadable,
}

impl Refusal {
    /// The message key of the refusal.
    pub fn key(self) -> &'static str {
        match self {
            Refusal::TooLarge => "report.photo.too_large",
            Refusal::WrongType => "report.photo.wrong_type",
            Refusal::Unreadable => "report.photo.unreadable",
        }
    }
}

/// Checks type and size, decodes, applies the orientation, shrinks and
/// re-encodes as JPEG: what comes out carries no metadata of the original.
pub fn accept(bytes: &[u8]) -> std::result::Result<Photo, Refusal> {
    if bytes.len() > MAX_BYTES {
        return Err(Refusal::TooLarge);
    }
    // The type is read from the bytes themselves, never from a name or a header.
    let format = image::guess_format(bytes).map_err(|_| Refusal::WrongType)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) {
        return Err(Refusal::WrongType);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refusal_of)?;
    // What decoding would allocate is known from the header: a small file
    // that would unfold into hundreds of megabytes is refused before it does.
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_DECODED_PIXELS {
        return Err(Refusal::TooLarge);
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(refusal_of)?;
    img.apply_orientation(orientation);
    if img.width() > MAX_SIDE || img.height() > MAX_SIDE {
        img = img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle);
    }
    let rgb = img.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82).encode_image(&rgb).map_err(|_| Refusal::Unreadable)?;
    Ok(Photo { content_type: "image/jpeg".into(), width: i64::from(rgb.width()), height: i64::from(rgb.height()), bytes: out })
}

/// What the header alone refuses (type, size announced): cheap, no pixel decoded.
fn header_refusal(bytes: &[u8]) -> Option<Refusal> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => f,
        _ => return Some(Refusal::WrongType),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    match reader.into_decoder() {
        Err(e) => Some(refusal_of(e)),
        Ok(decoder) => {
            let (w, h) = decoder.dimensions();
            (u64::from(w) * u64::from(h) > MAX_DECODED_PIXELS).then_some(Refusal::TooLarge)
        }
    }
}

/// A decoder's error as the person hears it: past a limit is "too large".
fn refusal_of(e: image::ImageError) -> Refusal {
    match e {
        image::ImageError::Limits(_) => Refusal::TooLarge,
        _ => Refusal::Unreadable,
    }
}

/// [`accept`] on a blocking thread, at most [`DECODERS`] at a time: a slow
/// decode never holds the threads that answer other requests.
pub async fn accept_off_thread(bytes: Vec<u8>) -> Result<std::result::Result<Photo, Refusal>> {
    if bytes.len() > MAX_BYTES {
        return Ok(Err(Refusal::TooLarge));
    }
    // Refused from its header (wrong type, a bomb's announced size) at once,
    // without waiting for a decoder behind real photos.
    if let Some(refusal) = header_refusal(&bytes) {
        return Ok(Err(refusal));
    }
    let _permit = DECODING.acquire().await.map_err(|e| Error::from(anyhow::anyhow!("photo decoders closed: {e}")))?;
    tokio::task::spawn_blocking(move || accept(&bytes)).await.map_err(|e| Error::from(anyhow::anyhow!("photo decoding: {e}")))
}

/// The photo of a report the caller may read (an audited read).
pub async fn read(app: &App, who: &Caller, id: ReportId) -> Result<Photo> {
    let report = super::staff::load(app, who, id, Action::Read).await?;
    let photo = reports::photo(&app.db, report.id).await?.ok_or_else(Error::not_found)?;
    audit::append_now(&app.db, super::entry(who, app.clock.now(), "read", &report, serde_json::json!({"field": "photo"}))).await?;
    Ok(photo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// A JPEG with an EXIF block (APP1) carrying a GPS-like marker right after SOI.
    fn jpeg_with_exif() -> Vec<u8> {
        let plain = encoded(ImageFormat::Jpeg, 40, 30);
        let payload = b"Exif\0\0GPS-SECRET-48.8880-2.3600";
        let mut app1 = vec![0xFF, 0xE1];
        app1.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        app1.extend_from_slice(payload);
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&app1);
        out.extend_from_slice(&plain[2..]);
        out
    }

    #[test]
    fn jpeg_png_and_webp_are_accepted_and_re_encoded_without_metadata() {
        let with_exif = jpeg_with_exif();
        assert!(with_exif.windows(10).any(|w| w == b"GPS-SECRET"));
        for bytes in [with_exif, encoded(ImageFormat::Png, 50, 20), encoded(ImageFormat::WebP, 20, 50)] {
            let p = accept(&bytes).unwrap();
            assert_eq!(p.content_type, "image/jpeg");
            assert!(!p.bytes.windows(10).any(|w| w == b"GPS-SECRET"), "metadata is gone");
            assert!(!p.bytes.windows(4).any(|w| w == b"Exif"), "no EXIF block");
            assert_eq!(image::guess_format(&p.bytes).unwrap(), ImageFormat::Jpeg);
        }
    }

    #[test]
    fn large_photos_are_shrunk() {
        let p = accept(&encoded(ImageFormat::Png, 3200, 1000)).unwrap();
        assert_eq!((p.width, p.height), (1600, 500));
    }

    #[test]
    fn wrong_types_oversized_and_broken_files_are_refused() {
        assert_eq!(accept(b"GIF89a.....").unwrap_err(), Refusal::WrongType);
        assert_eq!(accept(b"%PDF-1.7 not an image").unwrap_err(), Refusal::WrongType);
        assert_eq!(accept(b"BM6\0\0\0\0\0\0\0\x36\0\0\0").unwrap_err(), Refusal::WrongType);
        assert_eq!(accept(&vec![0u8; MAX_BYTES + 1]).unwrap_err(), Refusal::TooLarge);
        let mut broken = encoded(ImageFormat::Png, 30, 30);
        broken.truncate(60);
        assert_eq!(accept(&broken).unwrap_err(), Refusal::Unreadable);
    }
}

#[cfg(test)]
mod bombs {
    use super::*;

    /// A PNG whose header announces 12,000 × 12,000 pixels (it would unfold
    /// into 432 MB): refused from its header, at once.
    #[test]
    fn a_decompression_bomb_is_refused_before_decoding() {
        // A real 1 × 1 PNG whose header is rewritten to announce 11,999 ×
        // 11,999 pixels, with the header's checksum recomputed.
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(image::RgbImage::new(1, 1)).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        png[16..20].copy_from_slice(&11_999u32.to_be_bytes());
        png[20..24].copy_from_slice(&11_999u32.to_be_bytes());
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let started = std::time::Instant::now();
        assert_eq!(accept(&png).unwrap_err(), Refusal::TooLarge);
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
    }
}
