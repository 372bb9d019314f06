//! Encode cost of one clip with the frames preloaded (so a profiler sees only
//! the encoder), one thread, repeated: `--example enctime -- CLIP_DIR [PASSES]`.
//! Prints mean and p50 per frame in wall and thread-CPU time, for comparing
//! with a peer codec's mean measured in the same run.
#![allow(unsafe_code)]

use std::time::Instant;

use tandem_codec::{Encoder, EncoderConfig, FrameRef};

fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn p50(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("CLIP_DIR [PASSES]")?);
    let passes: usize = args.next().map_or(Ok(3), |p| p.parse())?;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    paths.sort();
    let frames = paths
        .iter()
        .map(|p| tandem_bench::load_bgrx(p))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut wall, mut cpu, mut bytes) = (Vec::new(), Vec::new(), 0usize);
    let mut out = Vec::new();
    for _ in 0..passes {
        let mut enc = Encoder::new(EncoderConfig {
            threads: 1,
            ..Default::default()
        });
        for (w, h, data) in &frames {
            let f = FrameRef {
                width: *w,
                height: *h,
                stride: *w as usize * 4,
                data,
            };
            out.clear();
            let (t, c) = (Instant::now(), cpu_ms());
            enc.encode(f, &mut out)?;
            cpu.push(cpu_ms() - c);
            wall.push(t.elapsed().as_secs_f64() * 1e3);
            bytes += out.len();
        }
    }
    let n = wall.len() as f64;
    let (wm, cm) = (wall.iter().sum::<f64>() / n, cpu.iter().sum::<f64>() / n);
    println!(
        "{} frames={} passes={passes} wall_ms mean={wm:.2} p50={:.2} cpu_ms mean={cm:.2} p50={:.2} B/frame={:.1}",
        dir.display(),
        frames.len(),
        p50(&mut wall),
        p50(&mut cpu),
        bytes as f64 / n
    );
    Ok(())
}
