//! Encode/decode cost per frame in *thread CPU time* (robust when other jobs
//! share the cores), one thread: `--example cputime -- [CORPUS]`.
#![allow(unsafe_code)]

use tandem_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};

fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let corpus = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .or_else(tandem_bench::default_corpus)
        .ok_or("corpus")?;
    println!("clip       enc_cpu_p50 enc_cpu_p95 dec_cpu_p50 unchanged_cpu_p50 (ms)");
    for (name, paths) in tandem_bench::list_clips(&corpus)? {
        let mut enc = Encoder::new(EncoderConfig {
            threads: 1,
            ..Default::default()
        });
        let mut dec = Decoder::new(DecoderLimits::default());
        let mut out = Vec::new();
        let (mut e, mut d, mut u) = (Vec::new(), Vec::new(), Vec::new());
        let mut last = None;
        for p in &paths {
            let (w, h, data) = tandem_bench::load_bgrx(p)?;
            let f = FrameRef {
                width: w,
                height: h,
                stride: w as usize * 4,
                data: &data,
            };
            out.clear();
            let t = cpu_ms();
            enc.encode(f, &mut out)?;
            e.push(cpu_ms() - t);
            let t = cpu_ms();
            dec.decode(&out)?;
            d.push(cpu_ms() - t);
            last = Some((w, h, data));
        }
        if let Some((w, h, data)) = &last {
            for _ in 0..15 {
                let f = FrameRef {
                    width: *w,
                    height: *h,
                    stride: *w as usize * 4,
                    data,
                };
                out.clear();
                let t = cpu_ms();
                enc.encode(f, &mut out)?;
                u.push(cpu_ms() - t);
            }
        }
        println!(
            "{name:<10} {:>11.2} {:>11.2} {:>11.2} {:>17.3}",
            pct(&mut e, 0.5),
            pct(&mut e, 0.95),
            pct(&mut d, 0.5),
            pct(&mut u, 0.5)
        );
    }
    Ok(())
}
