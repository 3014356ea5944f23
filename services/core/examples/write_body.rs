//! Writes one study body to a file, the same bytes the load generator and the parse benchmark
//! use, so a program in another language can be measured on exactly that body
//! (`scripts/bench_python.py` does, with orjson):
//!
//! `cargo run --release -p lab-core --example write_body -- SIZE_MB SEED PATH [SPACING [LETTERS]]`
//!
//! SPACING is `compact` (the default) or `spaced`, LETTERS `a-z` (the default) or `a-zA-Z`,
//! as lab-loadgen's JSON_SPACING and KEY_LETTERS. It prints the body's length, distinct-key
//! count and largest value, what a correct parse finds.

use std::process::ExitCode;

use lab_core::payload::{Alphabet, BodyStyle, Separators};

const USAGE: &str = "usage: write_body SIZE_MB SEED PATH [compact|spaced [a-z|a-zA-Z]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (size_mb, seed, path, style) = match &args[..] {
        [size_mb, seed, path, style @ ..] if style.len() <= 2 => (size_mb, seed, path, style),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (Ok(size_mb), Ok(seed)) = (size_mb.parse::<f64>(), seed.parse::<u64>()) else {
        eprintln!("write_body: SIZE_MB must be a number and SEED a whole number");
        return ExitCode::from(2);
    };
    let separators = style.first().map_or(Ok(Separators::Compact), |s| s.parse());
    let alphabet = style.get(1).map_or(Ok(Alphabet::Lower), |s| s.parse());
    let (Ok(separators), Ok(alphabet)) = (separators, alphabet) else {
        eprintln!("write_body: {USAGE}");
        return ExitCode::from(2);
    };
    let style = BodyStyle {
        separators,
        alphabet,
    };
    if !(0.0..=1024.0).contains(&size_mb) {
        eprintln!("write_body: SIZE_MB must be 0 to 1024");
        return ExitCode::from(2);
    }
    let (body, answer) =
        lab_core::payload::generate_styled_with_answer("large", size_mb, seed, style);
    if let Err(error) = std::fs::write(path, &body) {
        eprintln!("write_body: cannot write {path}: {error}");
        return ExitCode::FAILURE;
    }
    println!("{} {} {}", body.len(), answer.count, answer.maxval);
    ExitCode::SUCCESS
}
