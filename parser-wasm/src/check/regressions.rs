//! Replays every input the fuzzers ever found a problem with, and the seed
//! inputs, through the same checks the fuzz targets run (fuzz/regressions/).

use super::{chunks_case, ipset_case, nft_case, parse_case, render_case};
use std::path::Path;

fn replay(target: &str, case: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        let input = std::fs::read(&path).expect("regression input");
        let outcome = std::panic::catch_unwind(|| case(&input));
        assert!(outcome.is_ok(), "{} fails again", path.display());
        replayed += 1;
    }
    replayed
}

#[test]
fn fuzz_regressions_stay_fixed() {
    // Each target on its own: an emptied folder must not hide behind the
    // others' inputs.
    for (target, case, inputs) in [
        ("parse", parse_case as fn(&[u8]), 1),
        ("render", render_case, 1),
        ("chunks", chunks_case, 3),
        ("nft", nft_case, 1),
        ("ipset", ipset_case, 1),
    ] {
        assert_eq!(
            replay(target, case),
            inputs,
            "fuzz/regressions/{target}: the inputs kept there"
        );
    }
}
