//! Replays the seed corpora (and seeded mutations) through every fuzz target on stable; see
//! `candlestore_fuzz::driver`.

fn main() -> std::process::ExitCode {
    candlestore_fuzz::driver::main(None)
}
