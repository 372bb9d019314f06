//! `tandem bench`: the codec on a corpus of recordings, as the host would run it; with
//! `--session`, a whole live session between two virtual displays (`crate::bench_session`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tandem_bench::{BenchOptions, ClipReport};
use tandem_i18n::tr;

#[derive(Args)]
pub struct BenchArgs {
    /// A directory whose subdirectories each hold frame_NNNN.png in order
    /// (default: ../shared/bench/corpus when present).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// One JSON object per clip per line (with --session: one JSON object).
    #[arg(long)]
    json: bool,
    /// Measure a live session instead of the codec: relay + share on one Xvfb display, the
    /// viewer's window full screen on another; still screen, typing, scrolling, a window drag and
    /// a key-press latency probe (needs Xvfb, xterm, xdotool).
    #[arg(long)]
    session: bool,
    #[command(flatten)]
    session_args: crate::bench_session::SessionArgs,
    /// Encoder threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.session {
        return crate::bench_session::run(args.session_args, args.json);
    }
    let corpus = match args.corpus.or_else(tandem_bench::default_corpus) {
        Some(corpus) => corpus,
        None => bail!("{}", tr!("bench-no-corpus")),
    };
    let options = BenchOptions {
        corpus: corpus.clone(),
        threads: args.threads,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{prefix:>10}} [{{bar:40}}] {{pos}}/{{len}} {} {{elapsed}}",
            tr!("bench-progress-frames")
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut current = String::new();
    let reports = tandem_bench::run(&options, &mut |progress| {
        if progress.clip != current {
            current.clone_from(&progress.clip);
            bar.set_prefix(progress.clip.clone());
            bar.set_length(progress.frames as u64);
        }
        bar.set_position(progress.frame as u64);
    })
    .with_context(|| tr!("bench-failed", path = corpus.display().to_string()))?;
    bar.finish_and_clear();
    print_reports(&reports, args.json);
    Ok(ExitCode::SUCCESS)
}

fn print_reports(reports: &[ClipReport], json: bool) {
    if json {
        for report in reports {
            println!("{}", report.to_json_line());
        }
    } else {
        println!("{}", ClipReport::table_header());
        for report in reports {
            println!("{report}");
        }
    }
}
