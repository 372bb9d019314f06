//! `tandem bench`: runs every clip of a corpus (a directory whose
//! subdirectories each hold `frame_NNNN.png` in order) through the real
//! encoder and decoder, as the host would at the default quality, and reports
//! bytes, timings and quality per clip.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tandem_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Directory of clips (one subdirectory per clip).
    pub corpus: PathBuf,
    /// Encoder threads (0 = all cores).
    pub threads: usize,
}

/// Progress, reported after each frame.
#[derive(Clone, Debug)]
pub struct BenchProgress {
    pub clip: String,
    /// 0-based index of the clip and number of clips.
    pub clip_index: usize,
    pub clips: usize,
    /// Frames done in this clip and frames in it.
    pub frame: usize,
    pub frames: usize,
}

/// The numbers for one clip.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipReport {
    pub clip: String,
    pub frames: usize,
    pub bytes_per_frame: f64,
    pub encode_ms_p50: f64,
    pub encode_ms_p95: f64,
    pub decode_ms_p50: f64,
    pub unchanged_ms_p50: f64,
    /// PSNR-Y (BT.601) of all decoded frames against the source; infinite when exact.
    pub psnr_y: f64,
    /// Share of pixels sent lossy.
    pub lossy_fraction: f64,
    pub threads: usize,
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    #[error("reading {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("loading {path}")]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("no clips (subdirectories with frame_NNNN.png) in {0}")]
    NoClips(PathBuf),
    #[error("encoding frame {frame} of {clip}")]
    Encode {
        clip: String,
        frame: usize,
        #[source]
        source: tandem_codec::EncodeError,
    },
    #[error("decoding frame {frame} of {clip}")]
    Decode {
        clip: String,
        frame: usize,
        #[source]
        source: tandem_codec::DecodeError,
    },
}

/// `../shared/bench/corpus` relative to the current directory or to the
/// workspace root, when it exists.
pub fn default_corpus() -> Option<PathBuf> {
    let rel = Path::new("..").join("shared").join("bench").join("corpus");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    [rel.clone(), root.join(&rel)]
        .into_iter()
        .find(|p| p.is_dir())
}

/// Lists clips: sorted subdirectories holding at least one `frame_*.png`,
/// each with its sorted frame paths.
pub fn list_clips(corpus: &Path) -> Result<Vec<(String, Vec<PathBuf>)>, BenchError> {
    let io = |source| BenchError::Io {
        path: corpus.to_path_buf(),
        source,
    };
    let mut clips = Vec::new();
    for entry in std::fs::read_dir(corpus).map_err(io)? {
        let entry = entry.map_err(io)?;
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let mut frames: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|source| BenchError::Io {
                path: dir.clone(),
                source,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("frame_") && n.ends_with(".png"))
            })
            .collect();
        if frames.is_empty() {
            continue;
        }
        frames.sort();
        let name = entry.file_name().to_string_lossy().into_owned();
        clips.push((name, frames));
    }
    clips.sort();
    if clips.is_empty() {
        return Err(BenchError::NoClips(corpus.to_path_buf()));
    }
    Ok(clips)
}

/// Loads a PNG as a BGRX frame (4th byte set to 0).
pub fn load_bgrx(path: &Path) -> Result<(u32, u32, Vec<u8>), BenchError> {
    let img = image::open(path)
        .map_err(|source| BenchError::Image {
            path: path.to_path_buf(),
            source,
        })?
        .into_rgb8();
    let (w, h) = img.dimensions();
    let mut out = Vec::with_capacity(w as usize * h as usize * 4);
    for p in img.as_raw().chunks_exact(3) {
        out.extend_from_slice(&[p[2], p[1], p[0], 0]);
    }
    Ok((w, h, out))
}

/// Sum of squared BT.601 luma errors between a BGRX source and RGBA output.
pub fn luma_sse(bgrx: &[u8], rgba: &[u8]) -> f64 {
    let mut sse = 0f64;
    for (s, d) in bgrx.chunks_exact(4).zip(rgba.chunks_exact(4)) {
        if s[0] == d[2] && s[1] == d[1] && s[2] == d[0] {
            continue;
        }
        let ys = 0.299 * f64::from(s[2]) + 0.587 * f64::from(s[1]) + 0.114 * f64::from(s[0]);
        let yd = 0.299 * f64::from(d[0]) + 0.587 * f64::from(d[1]) + 0.114 * f64::from(d[2]);
        sse += (ys - yd) * (ys - yd);
    }
    sse
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Runs every clip of `opts.corpus`.
pub fn run(
    opts: &BenchOptions,
    on_progress: &mut dyn FnMut(BenchProgress),
) -> Result<Vec<ClipReport>, BenchError> {
    let clips = list_clips(&opts.corpus)?;
    let n = clips.len();
    let mut reports = Vec::with_capacity(n);
    for (ci, (name, frames)) in clips.iter().enumerate() {
        reports.push(run_clip(name, frames, ci, n, opts.threads, on_progress)?);
    }
    Ok(reports)
}

fn run_clip(
    name: &str,
    paths: &[PathBuf],
    clip_index: usize,
    clips: usize,
    threads: usize,
    on_progress: &mut dyn FnMut(BenchProgress),
) -> Result<ClipReport, BenchError> {
    let mut enc = Encoder::new(EncoderConfig {
        threads,
        ..EncoderConfig::default()
    });
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    let (mut enc_ms, mut dec_ms) = (Vec::new(), Vec::new());
    let (mut bytes, mut sse, mut pixels, mut lossy) = (0u64, 0f64, 0u64, 0u64);
    let mut last: Option<(u32, u32, Vec<u8>)> = None;
    for (i, path) in paths.iter().enumerate() {
        let (w, h, data) = load_bgrx(path)?;
        let frame = FrameRef {
            width: w,
            height: h,
            stride: w as usize * 4,
            data: &data,
        };
        out.clear();
        let t = Instant::now();
        let st = enc
            .encode(frame, &mut out)
            .map_err(|source| BenchError::Encode {
                clip: name.to_string(),
                frame: i,
                source,
            })?;
        enc_ms.push(ms(t));
        let t = Instant::now();
        dec.decode(&out).map_err(|source| BenchError::Decode {
            clip: name.to_string(),
            frame: i,
            source,
        })?;
        dec_ms.push(ms(t));
        bytes += out.len() as u64;
        lossy += st.lossy_pixels;
        pixels += st.total_pixels;
        sse += luma_sse(&data, dec.rgba());
        last = Some((w, h, data));
        on_progress(BenchProgress {
            clip: name.to_string(),
            clip_index,
            clips,
            frame: i + 1,
            frames: paths.len(),
        });
    }
    // The unchanged frame: the last frame again, as a static screen would be.
    let mut unchanged = Vec::new();
    if let Some((w, h, data)) = &last {
        let frame = FrameRef {
            width: *w,
            height: *h,
            stride: *w as usize * 4,
            data,
        };
        for _ in 0..15 {
            out.clear();
            let t = Instant::now();
            let r = enc.encode(frame, &mut out);
            unchanged.push(ms(t));
            r.map_err(|source| BenchError::Encode {
                clip: name.to_string(),
                frame: paths.len(),
                source,
            })?;
            dec.decode(&out).map_err(|source| BenchError::Decode {
                clip: name.to_string(),
                frame: paths.len(),
                source,
            })?;
        }
    }
    let frames = paths.len();
    let mse = if pixels == 0 {
        0.0
    } else {
        sse / pixels as f64
    };
    let psnr_y = if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    };
    Ok(ClipReport {
        clip: name.to_string(),
        frames,
        bytes_per_frame: bytes as f64 / frames.max(1) as f64,
        encode_ms_p50: percentile(&mut enc_ms, 0.5),
        encode_ms_p95: percentile(&mut enc_ms, 0.95),
        decode_ms_p50: percentile(&mut dec_ms, 0.5),
        unchanged_ms_p50: percentile(&mut unchanged, 0.5),
        psnr_y,
        lossy_fraction: if pixels == 0 {
            0.0
        } else {
            lossy as f64 / pixels as f64
        },
        threads,
    })
}

fn round(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}

impl ClipReport {
    /// One JSON object on one line. `psnr_y` is `null` when every pixel was
    /// exact (infinite PSNR), as JSON has no infinity.
    pub fn to_json_line(&self) -> String {
        let psnr = if self.psnr_y.is_finite() {
            serde_json::json!(round(self.psnr_y, 3))
        } else {
            serde_json::Value::Null
        };
        serde_json::json!({
            "clip": self.clip,
            "frames": self.frames,
            "bytes_per_frame": round(self.bytes_per_frame, 1),
            "encode_ms_p50": round(self.encode_ms_p50, 3),
            "encode_ms_p95": round(self.encode_ms_p95, 3),
            "decode_ms_p50": round(self.decode_ms_p50, 3),
            "unchanged_ms_p50": round(self.unchanged_ms_p50, 3),
            "psnr_y": psnr,
            "lossy_fraction": round(self.lossy_fraction, 5),
            "threads": self.threads,
        })
        .to_string()
    }

    /// The header matching the `Display` rows.
    pub fn table_header() -> &'static str {
        "clip         frames   bytes/frame  enc p50 ms  enc p95 ms  dec p50 ms  unchanged ms  PSNR-Y dB  lossy %  threads"
    }
}

impl fmt::Display for ClipReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let psnr = if self.psnr_y.is_finite() {
            format!("{:.2}", self.psnr_y)
        } else {
            "inf".to_string()
        };
        write!(
            f,
            "{:<12} {:>6} {:>13.0} {:>11.2} {:>11.2} {:>11.2} {:>13.3} {:>10} {:>8.2} {:>8}",
            self.clip,
            self.frames,
            self.bytes_per_frame,
            self.encode_ms_p50,
            self.encode_ms_p95,
            self.decode_ms_p50,
            self.unchanged_ms_p50,
            psnr,
            self.lossy_fraction * 100.0,
            self.threads
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn runs_on_a_tiny_synthetic_corpus() {
        let dir = std::env::temp_dir().join(format!("tandem-bench-test-{}", std::process::id()));
        let clip = dir.join("tiny");
        std::fs::create_dir_all(&clip).unwrap();
        for i in 0..3u32 {
            let img = image::RgbImage::from_fn(70, 40, |x, y| {
                image::Rgb([
                    (x * 3 + i) as u8,
                    (y * 5) as u8,
                    if x > 30 { 255 } else { 0 },
                ])
            });
            img.save(clip.join(format!("frame_{:04}.png", i + 1)))
                .unwrap();
        }
        let reports = run(
            &BenchOptions {
                corpus: dir.clone(),
                threads: 1,
            },
            &mut |_| {},
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert_eq!((r.clip.as_str(), r.frames), ("tiny", 3));
        assert!(r.psnr_y.is_infinite());
        let v: serde_json::Value = serde_json::from_str(&r.to_json_line()).unwrap();
        for k in [
            "clip",
            "frames",
            "bytes_per_frame",
            "encode_ms_p50",
            "encode_ms_p95",
            "decode_ms_p50",
            "unchanged_ms_p50",
            "psnr_y",
            "lossy_fraction",
            "threads",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
}
