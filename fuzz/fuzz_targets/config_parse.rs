//! Untrusted config text (tiny format and UCI): `config::parse` must never
//! panic, and every error must read `fuzz.conf:LINE: ...` with a real line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyvrrp::config;

fuzz_target!(|data: &[u8]| {
    // The daemon reads the file with `read_to_string`: only UTF-8 gets here.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let errors = match config::parse("fuzz.conf", text) {
        Ok(config) => {
            assert!(!config.instances.is_empty(), "Ok with no instance");
            return;
        }
        Err(errors) => errors,
    };
    assert!(!errors.is_empty(), "Err with no error");
    // "no instance defined" blames line 1 even in an empty file.
    let last_line = text.lines().count().max(1);
    let mut previous = 0;
    for error in &errors {
        let shown = error.to_string();
        let rest = shown
            .strip_prefix("fuzz.conf:")
            .unwrap_or_else(|| panic!("error without the file name: {shown:?}"));
        let (number, _message) = rest
            .split_once(':')
            .unwrap_or_else(|| panic!("error without a line: {shown:?}"));
        let line: usize = number
            .parse()
            .unwrap_or_else(|_| panic!("line is not a number: {shown:?}"));
        assert!(
            (1..=last_line).contains(&line),
            "line {line} outside 1..={last_line}: {shown:?}"
        );
        // `parse` documents its errors in line order.
        assert!(line >= previous, "errors out of line order: {errors:?}");
        previous = line;
    }
});
