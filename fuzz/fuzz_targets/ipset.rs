//! Any bytes as an ipset listing: an error inside the input, or a
//! rendering that holds together (see `check::ipset_case`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    parser_wasm::check::ipset_case(data);
});
