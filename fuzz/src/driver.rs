//! The stable-toolchain driver: replays files (and seeded mutations of them) through the
//! targets, catching panics. A panicking input is written to `artifacts/<target>/` and the
//! process exits non-zero.
//!
//! ```text
//! replay [--target NAME]... [--mutations N] [--seed S] [--write-seeds] [FILE|DIR]...
//! ```
//! Without paths, each target replays `seeds/<target>/` and, if present, `corpus/<target>/`
//! (where `cargo fuzz` keeps what it found). With paths, every selected target replays them.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use crate::mutate::{Rng, mutate};
use crate::{TARGETS, Target, target};

const USAGE: &str =
    "usage: [--target NAME]... [--mutations N] [--seed S] [--write-seeds] [FILE|DIR]...";

#[derive(Debug)]
struct Args {
    targets: Vec<Target>,
    mutations: u64,
    seed: u64,
    write_seeds: bool,
    paths: Vec<PathBuf>,
}

fn parse_args(default_target: Option<&str>) -> Result<Args, String> {
    let mut args =
        Args { targets: Vec::new(), mutations: 0, seed: 0, write_seeds: false, paths: Vec::new() };
    let mut it = std::env::args().skip(1);
    let number = |flag: &str, v: Option<String>| -> Result<u64, String> {
        v.as_deref()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a number\n{USAGE}"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--target" => {
                let name = it.next().unwrap_or_default();
                args.targets.push(
                    target(&name).ok_or_else(|| format!("unknown target {name:?}\n{USAGE}"))?,
                );
            }
            "--mutations" => args.mutations = number("--mutations", it.next())?,
            "--seed" => args.seed = number("--seed", it.next())?,
            "--write-seeds" => args.write_seeds = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{USAGE}")),
            path => args.paths.push(PathBuf::from(path)),
        }
    }
    if args.targets.is_empty() {
        args.targets = match default_target {
            Some(name) => vec![target(name).ok_or_else(|| format!("unknown target {name:?}"))?],
            None => TARGETS.to_vec(),
        };
    }
    Ok(args)
}

fn fuzz_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Files under `path` (itself if a file), sorted; a missing path yields nothing.
fn files_under(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_owned());
    } else if let Ok(entries) = std::fs::read_dir(path) {
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            files_under(&e, out);
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The message and location of the last panic on this thread, captured by the hook.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

#[derive(Debug, Default)]
struct Outcome {
    inputs: u64,
    /// Failures by panic location: (count, first message and input: artifact, how it was made).
    failures: BTreeMap<String, (u64, String)>,
}

fn run_one(t: Target, input: &[u8], origin: &dyn Fn() -> String, outcome: &mut Outcome) {
    outcome.inputs += 1;
    if panic::catch_unwind(AssertUnwindSafe(|| (t.run)(input))).is_ok() {
        return;
    }
    let message = LAST_PANIC.lock().map(|mut m| m.take()).ok().flatten().unwrap_or_default();
    // "panicked at file:line:col:\nmessage": group by the location, keep the first message.
    let location = message.lines().next().unwrap_or_default().to_owned();
    let entry = outcome.failures.entry(location).or_insert((0, String::new()));
    entry.0 += 1;
    if entry.0 == 1 {
        entry.1.push_str(message.lines().skip(1).collect::<Vec<_>>().join(" ").as_str());
        entry.1.push_str("\n    first input: ");
        let dir = fuzz_dir().join("artifacts").join(t.name);
        let path = dir.join(format!("crash-{:016x}", fnv1a(input)));
        let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input));
        entry.1 += &match saved {
            Ok(()) => format!("{} ({})", path.display(), origin()),
            Err(e) => format!("(not saved: {e}) ({})", origin()),
        };
    }
}

/// Entry point of the stable binaries; `default_target` is the target a per-target binary
/// runs when no `--target` is given (`None` for `replay`: all of them).
pub fn main(default_target: Option<&str>) -> ExitCode {
    let args = match parse_args(default_target) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if args.write_seeds {
        let testdata = fuzz_dir().join("..").join("testdata");
        return match crate::seeds::write_all(&fuzz_dir().join("seeds"), &testdata) {
            Ok(files) => {
                for f in files {
                    println!("wrote {}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("writing seeds failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // Panics are reported once per location, with the first input that hit it. Set
    // CANDLESTORE_FUZZ_BACKTRACE=1 to print every panic with its backtrace as it happens
    // (RUST_BACKTRACE is not used: it is often set globally, and capturing is slow).
    let backtraces = std::env::var_os("CANDLESTORE_FUZZ_BACKTRACE").is_some_and(|v| v != "0");
    panic::set_hook(Box::new(move |info| {
        if backtraces {
            eprintln!("{info}\n{}", std::backtrace::Backtrace::force_capture());
        }
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(info.to_string());
        }
    }));
    let started = Instant::now();
    let mut failed = false;
    for t in &args.targets {
        let mut files = Vec::new();
        if args.paths.is_empty() {
            files_under(&fuzz_dir().join("seeds").join(t.name), &mut files);
            files_under(&fuzz_dir().join("corpus").join(t.name), &mut files);
        } else {
            for p in &args.paths {
                files_under(p, &mut files);
            }
        }
        let inputs: Vec<(PathBuf, Vec<u8>)> =
            files.into_iter().filter_map(|f| std::fs::read(&f).ok().map(|b| (f, b))).collect();
        let all: Vec<&[u8]> = inputs.iter().map(|(_, b)| b.as_slice()).collect();
        let mut outcome = Outcome::default();
        let t0 = Instant::now();
        for (path, bytes) in &inputs {
            run_one(*t, bytes, &|| format!("file {}", path.display()), &mut outcome);
            let file_seed =
                args.seed ^ fnv1a(path.file_name().map_or(&[][..], |n| n.as_encoded_bytes()));
            for i in 0..args.mutations {
                let mut rng = Rng::new(file_seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let (mutant, what) = mutate(bytes, &all, &mut rng);
                let origin = || {
                    format!("{} mutation #{i} with --seed {}: {what}", path.display(), args.seed)
                };
                run_one(*t, &mutant, &origin, &mut outcome);
            }
        }
        let accepted = t.accepted.load(std::sync::atomic::Ordering::Relaxed);
        println!(
            "{}: {} files, {} inputs ({accepted} decoded cleanly, raw or checksum-fixed) in {:.1?}: {}",
            t.name,
            inputs.len(),
            outcome.inputs,
            t0.elapsed(),
            if outcome.failures.is_empty() {
                "ok".to_owned()
            } else {
                format!("{} distinct panics", outcome.failures.len())
            }
        );
        if inputs.is_empty() {
            println!("{}: warning: no input files", t.name);
        }
        for (message, (count, first)) in &outcome.failures {
            failed = true;
            println!("  PANIC x{count} {message}\n    {first}");
        }
    }
    println!("replay finished in {:.1?}", started.elapsed());
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
