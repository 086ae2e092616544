//! Rendering in pieces of any size gives exactly the one-piece exposition.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    parser_wasm::check::chunks_case(data);
});
