#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| courser_fuzzing::courier::shell(data));
