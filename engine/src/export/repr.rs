//! Floats as Python's `repr` writes them: the shortest text that reads back to the same
//! double, fixed-point for decimal exponents in `-4..16`, else scientific with a signed,
//! at-least-two-digit exponent (F4).

/// `repr(x)` of a Python float: `36301200.0`, `0.1`, `1e-07`, `1.5e+16`, `nan`, `-inf`.
pub fn python_repr(x: f64) -> String {
    let mut out = String::with_capacity(24);
    push_python_repr(&mut out, x);
    out
}

/// Appends `repr(x)` (see [`python_repr`]) to `out` without allocating: the text writers call
/// it for every float cell.
pub(crate) fn push_python_repr(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    // ryu gives the shortest round-trip digits (the same digits as Python's repr) in its own
    // layout (`1e-7`, `1.5e16`, `0.001`, `36301200.0`); take its digits and decimal exponent
    // and lay them out as Python does.
    let mut buf = ryu::Buffer::new();
    let ax = x.abs();
    let shortest = buf.format_finite(ax);
    // Where Python writes fixed-point, ryu's fixed-point text (`36301200.0`, `0.001`) is the
    // same string; only its exponent form needs relaying out.
    if (1e-4..1e16).contains(&ax) && !shortest.contains('e') {
        out.push_str(shortest);
        return;
    }
    let text = shortest.as_bytes();
    let (mantissa, exp_part) = match text.iter().position(|&b| b == b'e') {
        Some(i) => (&text[..i], parse_exp(&text[i + 1..])),
        None => (text, 0),
    };
    // The significant digits (at most 17) and the position of the decimal point relative to
    // their start: value = 0.d1d2… × 10^point.
    let mut digits = [0u8; 32];
    let mut n = 0usize;
    let mut point = 0i32;
    let mut seen_point = false;
    for &b in mantissa {
        if b == b'.' {
            seen_point = true;
            continue;
        }
        if n == 0 && b == b'0' {
            // A leading zero: before the point it is just the integer part `0`; after it,
            // each moves the point one place left.
            if seen_point {
                point -= 1;
            }
            continue;
        }
        if n < digits.len() {
            digits[n] = b;
            n += 1;
        }
        if !seen_point {
            point += 1;
        }
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[..n];
    let exp = point + exp_part - 1;
    let push = |out: &mut String, bytes: &[u8]| {
        // The digits are ASCII, so this never falls back.
        out.push_str(std::str::from_utf8(bytes).unwrap_or("?"));
    };
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            push(out, digits);
        } else if exp + 1 >= n as i32 {
            push(out, digits);
            for _ in 0..(exp + 1 - n as i32) {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            push(out, int);
            out.push('.');
            push(out, frac);
        }
    } else {
        push(out, &digits[..1]);
        if n > 1 {
            out.push('.');
            push(out, &digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        let mut ibuf = itoa::Buffer::new();
        out.push_str(ibuf.format(e));
    }
}

/// The exponent after ryu's `e` (`-7`, `16`).
fn parse_exp(text: &[u8]) -> i32 {
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let v = digits.iter().fold(0i32, |v, &d| v * 10 + i32::from(d - b'0'));
    if neg { -v } else { v }
}

#[cfg(test)]
mod tests {
    use super::python_repr;

    #[test]
    fn matches_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (1e-07, "1e-07"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789.0, "123456789.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (5e-324, "5e-324"),
            (2.5, "2.5"),
            (1e22, "1e+22"),
            (0.30000000000000004, "0.30000000000000004"),
            (36301200.0, "36301200.0"),
            (2.179012, "2.179012"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (-1.25e-10, "-1.25e-10"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-42.0, "-42.0"),
            (123.456, "123.456"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(python_repr(x), want, "repr of {x:?}");
        }
    }

    /// Against CPython's own `repr` of 1,007 doubles (random bit patterns, 17-digit values
    /// between 1e15 and 1e17 where two shortest candidates can tie, prices, extremes):
    /// testdata/export/python_repr.txt. (Rust's `{:e}` breaks such ties upward,
    /// `1658206780088562.3`; Python and ryu round half to even, `1658206780088562.2`.)
    #[test]
    fn matches_cpython_on_the_fixture() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/export/python_repr.txt");
        let text = std::fs::read_to_string(path).unwrap();
        let mut n = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (bits, want) = line.split_once(' ').unwrap();
            let x = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
            assert_eq!(python_repr(x), want, "bits {bits}");
            n += 1;
        }
        assert_eq!(n, 1007);
    }

    #[test]
    fn reads_back_to_the_same_double() {
        let mut x = 1.234_567_890_123e-9_f64;
        for _ in 0..200 {
            let text = python_repr(x);
            assert_eq!(text.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{text}");
            x *= 3.7;
        }
    }
}
