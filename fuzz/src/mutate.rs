//! Seeded, dependency-free mutations for replaying targets on stable: bit flips, interesting
//! integers, truncation, splices with other seeds, and range deletions/duplications.

/// SplitMix64: small, fast and reproducible from one `u64`.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }
}

/// Values that tend to sit on boundaries of length, count and offset checks.
const INTERESTING: [u64; 12] =
    [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fff_ffff, 0xffff_ffff, u64::MAX];

/// Applies 1–4 random mutations to `data`; `others` are splice partners. Returns the result and
/// a short description of what was done (for reproducing a failure).
pub fn mutate(data: &[u8], others: &[&[u8]], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut out = data.to_vec();
    let mut what = Vec::new();
    for _ in 0..1 + rng.below(4) {
        what.push(mutate_once(&mut out, others, rng));
    }
    (out, what.join(", "))
}

fn mutate_once(out: &mut Vec<u8>, others: &[&[u8]], rng: &mut Rng) -> String {
    let len = out.len();
    match rng.below(8) {
        0 | 1 if len > 0 => {
            let at = rng.below(len);
            let bit = rng.below(8);
            out[at] ^= 1 << bit;
            format!("flip bit {bit} of byte {at}")
        }
        2 if len > 0 => {
            let at = rng.below(len);
            let v = rng.next_u64() as u8;
            out[at] = v;
            format!("byte {at} = {v:#04x}")
        }
        3 if len > 0 => {
            let width = [1usize, 2, 4, 8][rng.below(4)];
            let at = rng.below(len);
            let mut v = INTERESTING[rng.below(INTERESTING.len())];
            if rng.below(4) == 0 {
                v = v.wrapping_add(rng.below(5) as u64).wrapping_sub(2);
            }
            let bytes = v.to_le_bytes();
            let end = (at + width).min(len);
            out[at..end].copy_from_slice(&bytes[..end - at]);
            format!("{width}-byte int {v:#x} at {at}")
        }
        4 => {
            let to = rng.below(len + 1);
            out.truncate(to);
            format!("truncate to {to}")
        }
        5 if !others.is_empty() => {
            let other = others[rng.below(others.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            out.truncate(cut);
            out.extend_from_slice(&other[from..]);
            format!("splice at {cut} with another seed from {from}")
        }
        6 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            out.drain(at..at + n);
            format!("delete {n} bytes at {at}")
        }
        7 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            let copy = out[at..at + n].to_vec();
            let to = rng.below(out.len() + 1);
            out.splice(to..to, copy);
            format!("copy {n} bytes from {at} to {to}")
        }
        _ => {
            let n = 1 + rng.below(16);
            let to = rng.below(len + 1);
            let junk: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            out.splice(to..to, junk);
            format!("insert {n} random bytes at {to}")
        }
    }
}
