//! Fuzz targets for candlestore's decoders of untrusted bytes: the WAL (inspection and replay
//! into a store), the table index, the manifest and the kernel state files.
//!
//! Each target is a plain `fn(&[u8])` that must never panic, whatever the bytes; errors are
//! fine. The same functions run under libFuzzer (`cargo +nightly fuzz run <target>`, where the
//! binaries in `fuzz_targets/` are built with `--cfg fuzzing`) and on stable through
//! [`driver::main`], which replays files and seeded mutations of them (see README.md).
//!
//! Random bytes almost never get past a crc32c, so each target runs its input twice: as given,
//! and with every checksum recomputed ([`checksum`]), which takes mutations through to the
//! structural checks and decoders behind the checksums.

pub mod checksum;
pub mod driver;
pub mod mutate;
pub mod seeds;
pub mod targets;

/// A fuzz target: its name (= binary and seed directory) and its entry point.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the target, its binary and its directory under `seeds/`.
    pub name: &'static str,
    /// Runs one input; panics only on a bug.
    pub run: fn(&[u8]),
    /// Counts the inputs the target's decoder accepted.
    pub accepted: &'static std::sync::atomic::AtomicU64,
}

/// Every target.
pub const TARGETS: [Target; 4] = [
    Target { name: "wal_replay", run: targets::wal_replay, accepted: &targets::WAL_ACCEPTED },
    Target { name: "index_open", run: targets::index_open, accepted: &targets::INDEX_ACCEPTED },
    Target {
        name: "manifest_decode",
        run: targets::manifest_decode,
        accepted: &targets::MANIFEST_ACCEPTED,
    },
    Target {
        name: "kernel_state",
        run: targets::kernel_state,
        accepted: &targets::KERNEL_STATE_ACCEPTED,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}
