//! Parsing any bytes returns a ruleset or an error whose line is inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    parser_wasm::check::parse_case(data);
});
