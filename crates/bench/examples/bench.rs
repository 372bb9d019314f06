//! `cargo run --release -p tandem-bench --example bench -- [--corpus DIR] [--json] [--threads N]`
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut corpus: Option<PathBuf> = None;
    let mut json = false;
    let mut threads = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--corpus" => corpus = args.next().map(PathBuf::from),
            "--json" => json = true,
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let corpus = corpus
        .or_else(tandem_bench::default_corpus)
        .ok_or("no corpus: pass --corpus DIR")?;
    let opts = tandem_bench::BenchOptions { corpus, threads };
    let reports = tandem_bench::run(&opts, &mut |p| {
        if p.frame == p.frames {
            eprintln!("{}: {} frames", p.clip, p.frames);
        }
    })?;
    if !json {
        println!("{}", tandem_bench::ClipReport::table_header());
    }
    for r in &reports {
        if json {
            println!("{}", r.to_json_line());
        } else {
            println!("{r}");
        }
    }
    Ok(())
}
