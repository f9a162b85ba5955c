//! Temporary.
fn main() {
    let t = std::time::Instant::now();
    for p in std::env::args().skip(1) {
        let mut r = candlestore_ingest::open(p.as_ref(), &Default::default()).unwrap();
        let mut n = 0;
        for b in r.by_ref() {
            n += b.unwrap().num_rows();
        }
        let s = r.stats();
        println!(
            "{p}: {:?} rows={n} read={} rej={} dup={} {:?} first={:?}",
            r.layout(),
            s.rows_read,
            s.rows_rejected,
            s.duplicates_in_file,
            t.elapsed(),
            s.rejects.first().map(|r| r.to_string())
        );
    }
}
