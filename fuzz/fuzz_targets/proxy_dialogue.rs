#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| courser_fuzzing::proxy::dialogue(data));
