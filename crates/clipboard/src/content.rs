//! What crosses between the two clipboards, the limits on it, and the image conversions at the edges
//! (pixels from the system clipboard to PNG for the peer, and the peer's PNG back to pixels).

use std::fmt;
use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngDecoder, PngEncoder};
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, Limits};
use thiserror::Error;

use crate::ClipboardError;

/// Text longer than this (in UTF-8 bytes) is not synced.
pub const MAX_TEXT_LEN: usize = 4 * 1024 * 1024;
/// Images whose PNG encoding is longer than this are not synced.
pub const MAX_PNG_LEN: usize = 16 * 1024 * 1024;
/// Images with more pixels than this are neither decoded nor encoded.
pub const MAX_IMAGE_PIXELS: u64 = 8192 * 8192;

/// Clipboard content as it travels to and from the peer.
#[derive(Clone, PartialEq, Eq)]
pub enum ClipContent {
    /// UTF-8 text.
    Text(String),
    /// An image, PNG-encoded.
    Png(Vec<u8>),
}

impl ClipContent {
    /// The length in bytes of the text or of the PNG.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Png(png) => png.len(),
        }
    }

    /// Whether the text or PNG is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `"text"` or `"png"`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Png(_) => "png",
        }
    }
}

/// Only the kind and the length: clipboard contents must never reach a log.
impl fmt::Debug for ClipContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Text(_) => "Text",
            Self::Png(_) => "Png",
        };
        f.debug_struct(name).field("len", &self.len()).finish()
    }
}

/// Which limit some content is over; such content is neither synced nor put on the clipboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LimitExceeded {
    #[error("text of {len} bytes is over the limit of {max} bytes")]
    Text { len: usize, max: usize },
    #[error("an image of {width}x{height} pixels is over the limit of {max_pixels} pixels")]
    Pixels {
        width: u64,
        height: u64,
        max_pixels: u64,
    },
    #[error("a PNG of {len} bytes is over the limit of {max} bytes")]
    Png { len: usize, max: usize },
}

pub(crate) fn check_text(len: usize) -> Result<(), LimitExceeded> {
    if len > MAX_TEXT_LEN {
        return Err(LimitExceeded::Text {
            len,
            max: MAX_TEXT_LEN,
        });
    }
    Ok(())
}

pub(crate) fn check_png(len: usize) -> Result<(), LimitExceeded> {
    if len > MAX_PNG_LEN {
        return Err(LimitExceeded::Png {
            len,
            max: MAX_PNG_LEN,
        });
    }
    Ok(())
}

pub(crate) fn check_pixels(width: u64, height: u64) -> Result<(), LimitExceeded> {
    // Saturating: a width and height whose product overflows are over any limit.
    if width.saturating_mul(height) > MAX_IMAGE_PIXELS {
        return Err(LimitExceeded::Pixels {
            width,
            height,
            max_pixels: MAX_IMAGE_PIXELS,
        });
    }
    Ok(())
}

/// Straight (not premultiplied) 8-bit RGBA pixels, row by row, as arboard takes them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Rgba {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Why an image cannot be encoded for the peer.
#[derive(Debug, Error)]
pub(crate) enum ImageProblem {
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    #[error(transparent)]
    Codec(#[from] ImageError),
}

impl Rgba {
    pub(crate) fn as_arboard(&self) -> arboard::ImageData<'_> {
        arboard::ImageData {
            width: self.width as usize,
            height: self.height as usize,
            bytes: self.pixels.as_slice().into(),
        }
    }

    /// Encodes as PNG, refusing a result over [`MAX_PNG_LEN`].
    pub(crate) fn to_png(&self) -> Result<Vec<u8>, ImageProblem> {
        let mut png = Vec::new();
        // Fast compression: this runs on the watcher thread for every image copied, and for
        // screenshots (the usual image) it costs far less time than the default for a few percent
        // in size.
        PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive)
            .write_image(
                &self.pixels,
                self.width,
                self.height,
                ExtendedColorType::Rgba8,
            )?;
        check_png(png.len())?;
        Ok(png)
    }

    /// Decodes a PNG from the peer. The pixel limit is checked from the header, before anything is
    /// allocated for the pixels, and the decoder's own allocation limit backs it up.
    pub(crate) fn from_png(png: &[u8]) -> Result<Self, ClipboardError> {
        check_png(png.len())?;
        let bad = |source| ClipboardError::BadImage { source };
        let mut limits = Limits::default();
        // Room for the largest allowed image at 16 bits per channel, the widest a PNG decodes to.
        limits.max_alloc = Some(MAX_IMAGE_PIXELS * 8);
        let decoder = PngDecoder::with_limits(Cursor::new(png), limits).map_err(bad)?;
        let (width, height) = decoder.dimensions();
        check_pixels(u64::from(width), u64::from(height))?;
        let image = DynamicImage::from_decoder(decoder)
            .map_err(bad)?
            .into_rgba8();
        Ok(Self {
            width,
            height,
            pixels: image.into_raw(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive() {
        assert_eq!(check_text(MAX_TEXT_LEN), Ok(()));
        assert_eq!(
            check_text(MAX_TEXT_LEN + 1),
            Err(LimitExceeded::Text {
                len: MAX_TEXT_LEN + 1,
                max: MAX_TEXT_LEN
            })
        );
        assert_eq!(check_png(MAX_PNG_LEN), Ok(()));
        assert!(check_png(MAX_PNG_LEN + 1).is_err());
        assert_eq!(check_pixels(8192, 8192), Ok(()));
        assert!(check_pixels(8192, 8193).is_err());
        assert!(check_pixels(1, MAX_IMAGE_PIXELS + 1).is_err());
        assert!(check_pixels(u64::MAX, u64::MAX).is_err());
    }

    #[test]
    fn debug_shows_kind_and_length_only() {
        let text = format!("{:?}", ClipContent::Text("secret password".into()));
        assert_eq!(text, "Text { len: 15 }");
        let png = format!("{:?}", ClipContent::Png(vec![7; 3]));
        assert_eq!(png, "Png { len: 3 }");
    }

    fn sample(width: u32, height: u32) -> Rgba {
        let mut pixels = Vec::new();
        for i in 0..width * height {
            // Includes a half-transparent pixel: alpha must survive the round trip.
            pixels.extend_from_slice(&[
                (i * 37) as u8,
                (i * 11) as u8,
                (i * 5) as u8,
                128 + i as u8,
            ]);
        }
        Rgba {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn png_round_trip_keeps_pixels() {
        let image = sample(7, 5);
        let png = image.to_png().expect("encodes");
        let back = Rgba::from_png(&png).expect("decodes");
        assert!(back == image);
    }

    #[test]
    fn undecodable_png_is_refused() {
        assert!(matches!(
            Rgba::from_png(b"not a png"),
            Err(ClipboardError::BadImage { .. })
        ));
        let png = sample(3, 3).to_png().expect("encodes");
        assert!(matches!(
            Rgba::from_png(&png[..png.len() / 2]),
            Err(ClipboardError::BadImage { .. })
        ));
    }

    /// A PNG announcing `width`x`height` RGBA in its header, with an empty IDAT: no pixel data.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &byte in bytes {
                crc ^= u32::from(byte);
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
        fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            png.extend_from_slice(&body);
            png.extend_from_slice(&crc32(&body).to_be_bytes());
        }
        let mut header = Vec::new();
        header.extend_from_slice(&width.to_be_bytes());
        header.extend_from_slice(&height.to_be_bytes());
        header.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut png, b"IHDR", &header);
        chunk(&mut png, b"IDAT", &[]);
        chunk(&mut png, b"IEND", &[]);
        png
    }

    #[test]
    fn png_over_the_pixel_limit_is_refused_from_its_header() {
        // Only a header: the refusal comes before any pixel data is needed or allocated.
        match Rgba::from_png(&png_header(8193, 8192)) {
            Err(ClipboardError::TooLarge {
                source: LimitExceeded::Pixels { width, height, .. },
            }) => {
                assert_eq!((width, height), (8193, 8192));
            }
            other => panic!(
                "expected a pixel limit refusal, got {:?}",
                other.map(|_| ())
            ),
        }
        // The same header within the limit gets past the check and fails for the missing data.
        assert!(matches!(
            Rgba::from_png(&png_header(8192, 8192)),
            Err(ClipboardError::BadImage { .. })
        ));
    }
}
