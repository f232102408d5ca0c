//! What a file is, decided from its bytes (never from its name or the client's header), and
//! whether the site accepts it: images are decoded within limits and re-encoded, so what is kept
//! carries no metadata (a phone photo's GPS position, the camera) and no trailing payload.

use std::io::Cursor;

use image::{ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::config::FileKind;

/// The largest image accepted, in pixels per side and in all.
const MAX_SIDE: u32 = 8_000;
const MAX_PIXELS: u64 = 40_000_000;
/// What decoding one image may allocate.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// A file as it will be kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub kind: FileKind,
}

/// Why a file is refused (`code` for clients, the text for people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub detail: String,
}

fn refused(code: &'static str, detail: impl Into<String>) -> Refused {
    Refused {
        code,
        detail: detail.into(),
    }
}

/// Checks `bytes` (named `name` by the sender) against the accepted `kinds`.
pub fn inspect(bytes: &[u8], name: &str, kinds: &[FileKind]) -> Result<Accepted, Refused> {
    if bytes.is_empty() {
        return Err(refused("empty_file", "the file is empty"));
    }
    let (kind, content_type) = detect(bytes)?;
    if !kinds.contains(&kind) {
        return Err(refused(
            "type_not_accepted",
            format!("{} files are not accepted here", kind.label()),
        ));
    }
    if let Some(claimed) = kind_of_name(name)
        && claimed != kind
    {
        return Err(refused(
            "type_mismatch",
            format!(
                "the file's content is {} but its name says {}",
                kind.label(),
                claimed.label()
            ),
        ));
    }
    let bytes = match kind {
        FileKind::Image => reencode(bytes, content_type)?,
        FileKind::Pdf | FileKind::Text => bytes.to_vec(),
    };
    let content_type = match kind {
        FileKind::Image => image_type(bytes.as_slice()),
        _ => content_type,
    };
    Ok(Accepted {
        bytes,
        content_type,
        kind,
    })
}

/// The kind and type from the magic bytes; text is UTF-8 without control characters and not
/// markup (an HTML or SVG file is never accepted, even as text).
fn detect(bytes: &[u8]) -> Result<(FileKind, &'static str), Refused> {
    if let Some(t) = infer::get(bytes) {
        return match t.mime_type() {
            m @ ("image/jpeg" | "image/png" | "image/gif" | "image/webp") => {
                Ok((FileKind::Image, m))
            }
            "application/pdf" => Ok((FileKind::Pdf, "application/pdf")),
            other => Err(refused(
                "type_not_accepted",
                format!("{other} files are not accepted here"),
            )),
        };
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        refused(
            "type_not_accepted",
            "this kind of file is not accepted here",
        )
    })?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(refused(
            "type_not_accepted",
            "this kind of file is not accepted here",
        ));
    }
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
    {
        return Err(refused(
            "type_not_accepted",
            "markup (HTML, SVG, XML) is not accepted",
        ));
    }
    Ok((FileKind::Text, "text/plain; charset=utf-8"))
}

/// The kind a file's name claims by its extension, when it names a known one.
fn kind_of_name(name: &str) -> Option<FileKind> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "gif" | "webp" => Some(FileKind::Image),
        "pdf" => Some(FileKind::Pdf),
        "txt" | "text" | "log" | "csv" | "md" => Some(FileKind::Text),
        _ => None,
    }
}

/// Decodes within the limits (a small file that would decode to gigabytes is refused), turns
/// it upright as its orientation tag says, and writes it again without any metadata: JPEG stays
/// JPEG, everything else becomes PNG (a GIF keeps its first frame).
fn reencode(bytes: &[u8], content_type: &str) -> Result<Vec<u8>, Refused> {
    let unreadable = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => refused(
            "image_too_large",
            format!("the image is larger than {MAX_SIDE} x {MAX_SIDE} pixels or too large to open"),
        ),
        other => refused(
            "unreadable_image",
            format!("the image cannot be read: {other}"),
        ),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| refused("unreadable_image", e.to_string()))?;
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(refused(
            "image_too_large",
            format!("the image has more than {MAX_PIXELS} pixels"),
        ));
    }
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut picture = image::DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    picture.apply_orientation(orientation);
    let mut out = Cursor::new(Vec::new());
    let written = if content_type == "image/jpeg" {
        picture.to_rgb8().write_to(&mut out, ImageFormat::Jpeg)
    } else {
        picture.write_to(&mut out, ImageFormat::Png)
    };
    written.map_err(unreadable)?;
    Ok(out.into_inner())
}

fn image_type(bytes: &[u8]) -> &'static str {
    match infer::get(bytes).map(|t| t.mime_type()) {
        Some("image/jpeg") => "image/jpeg",
        _ => "image/png",
    }
}

/// A file name safe to show and to put in a header: the last path part, without control or
/// quoting characters, at most 100 characters; `file` when nothing is left.
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '\u{202e}' | '\u{202d}'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[FileKind] = &[FileKind::Image, FileKind::Pdf, FileKind::Text];

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]))
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn the_type_comes_from_the_content_not_the_name() {
        let ok = inspect(&png(4, 4), "photo.png", ALL).unwrap();
        assert_eq!((ok.kind, ok.content_type), (FileKind::Image, "image/png"));
        assert_eq!(
            inspect(&png(4, 4), "invoice.pdf", ALL).unwrap_err().code,
            "type_mismatch"
        );
        assert_eq!(
            inspect(&png(4, 4), "photo.png", &[FileKind::Pdf])
                .unwrap_err()
                .code,
            "type_not_accepted"
        );
        let text = inspect(b"order 1234 arrived broken\n", "note.txt", ALL).unwrap();
        assert_eq!(text.kind, FileKind::Text);
        for markup in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"[..],
            b"  <!doctype html><script>alert(1)</script>",
        ] {
            assert_eq!(
                inspect(markup, "x.txt", ALL).unwrap_err().code,
                "type_not_accepted"
            );
        }
        assert_eq!(
            inspect(b"PK\x03\x04zipzip", "a.zip", ALL).unwrap_err().code,
            "type_not_accepted"
        );
        assert_eq!(
            inspect(b"\x00\x01\x02", "a.bin", ALL).unwrap_err().code,
            "type_not_accepted"
        );
    }

    #[test]
    fn a_polyglot_image_keeps_only_its_pixels() {
        let mut polyglot = png(8, 8);
        polyglot.extend_from_slice(b"<script>alert(document.cookie)</script>");
        let kept = inspect(&polyglot, "cat.png", ALL).unwrap();
        assert!(
            !kept.bytes.windows(7).any(|w| w == b"<script"),
            "the trailing payload is gone"
        );
        let back = image::load_from_memory(&kept.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (8, 8));
    }

    /// The PNG chunk checksum (CRC-32, as zlib computes it).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn an_image_that_would_decode_to_gigabytes_is_refused() {
        // A 20,000 x 20,000 PNG header: tiny on disk, 1.2 GB as pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let refusal = inspect(&bomb, "bomb.png", ALL).unwrap_err();
        assert_eq!(refusal.code, "image_too_large", "{refusal:?}");
    }

    /// A 16 x 8 JPEG with an EXIF block: orientation "turn 90 degrees" and a GPS position.
    fn phone_photo() -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::RgbImage::from_pixel(16, 8, image::Rgb([10, 120, 200]))
            .write_to(&mut out, ImageFormat::Jpeg)
            .unwrap();
        let jpeg = out.into_inner();
        let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
        tiff.extend([0, 1]);
        tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        tiff.extend([0, 0, 0, 0]);
        tiff.extend(b"GPSLatitude=52.3702N;GPSLongitude=4.8952E");
        let mut app1 = b"Exif\x00\x00".to_vec();
        app1.extend(tiff);
        let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE1];
        photo.extend(u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
        photo.extend(app1);
        photo.extend(&jpeg[2..]);
        photo
    }

    #[test]
    fn a_phone_photo_loses_its_gps_position_and_stands_upright() {
        let photo = phone_photo();
        assert!(photo.windows(11).any(|w| w == b"GPSLatitude"));
        let kept = inspect(&photo, "IMG_0042.JPG", ALL).unwrap();
        assert_eq!(kept.content_type, "image/jpeg");
        for marker in [&b"GPSLatitude"[..], b"Exif"] {
            assert!(!kept.bytes.windows(marker.len()).any(|w| w == marker));
        }
        let back = image::load_from_memory(&kept.bytes).unwrap();
        assert_eq!(
            (back.width(), back.height()),
            (8, 16),
            "turned as the tag said"
        );
    }

    #[test]
    fn names_are_cleaned_for_display_and_headers() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\ann\\photo.jpg"), "photo.jpg");
        assert_eq!(clean_name("a\u{0}b\r\nc\".pdf"), "abc.pdf");
        assert_eq!(clean_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_name("..."), "file");
        assert_eq!(clean_name(&"x".repeat(300)).len(), 100);
    }
}
