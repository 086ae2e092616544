//! Rendering any bytes gives an exposition the text format accepts, or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    parser_wasm::check::render_case(data);
});
