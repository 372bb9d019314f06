//! Per-frame bytes and encode time of one clip: `--example frames -- DIR`
use std::time::Instant;
use tandem_codec::{Encoder, EncoderConfig, FrameRef};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("clip dir")?;
    let clips = tandem_bench::list_clips(std::path::Path::new(&dir))?;
    for (name, paths) in clips {
        let mut enc = Encoder::new(EncoderConfig {
            threads: 1,
            ..Default::default()
        });
        let mut out = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            let (w, h, data) = tandem_bench::load_bgrx(p)?;
            out.clear();
            let t = Instant::now();
            let st = enc.encode(
                FrameRef {
                    width: w,
                    height: h,
                    stride: w as usize * 4,
                    data: &data,
                },
                &mut out,
            )?;
            let z = u32::from_le_bytes([out[16], out[17], out[18], out[19]]);
            let b = u32::from_le_bytes([out[20], out[21], out[22], out[23]]);
            println!(
                "{name} {i:4} {:8} B (ops {z} blob {b}) {:6.2} ms lossy {}",
                out.len(),
                t.elapsed().as_secs_f64() * 1e3,
                st.lossy_pixels
            );
        }
    }
    Ok(())
}
