#![no_main]
// The entry point libFuzzer calls is a `no_mangle` export.
#![allow(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcamp_fuzz::csv_import(data));
