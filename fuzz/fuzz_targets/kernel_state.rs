//! Fuzz target `kernel_state`: see `candlestore_fuzz::targets::kernel_state`. Under `cargo fuzz` (which
//! sets `--cfg fuzzing`) a libFuzzer target; otherwise a replay driver for its seeds, corpus
//! or the files given on the command line.

#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| candlestore_fuzz::targets::kernel_state(data));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    candlestore_fuzz::driver::main(Some("kernel_state"))
}
