//! Writes one study body to a file, the same bytes the load generator and the parse benchmark
//! use, so a program in another language can be measured on exactly that body
//! (`scripts/bench_python.py` does, with orjson):
//!
//! `cargo run --release -p lab-core --example write_body -- SIZE_MB SEED PATH`
//!
//! It prints the body's distinct-key count and largest value, what a correct parse finds.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [size_mb, seed, path] = &args[..] else {
        eprintln!("usage: write_body SIZE_MB SEED PATH");
        return ExitCode::from(2);
    };
    let (Ok(size_mb), Ok(seed)) = (size_mb.parse::<f64>(), seed.parse::<u64>()) else {
        eprintln!("write_body: SIZE_MB must be a number and SEED a whole number");
        return ExitCode::from(2);
    };
    if !(0.0..=1024.0).contains(&size_mb) {
        eprintln!("write_body: SIZE_MB must be 0 to 1024");
        return ExitCode::from(2);
    }
    let (body, answer) = lab_core::payload::generate_seeded_with_answer("large", size_mb, seed);
    if let Err(error) = std::fs::write(path, &body) {
        eprintln!("write_body: cannot write {path}: {error}");
        return ExitCode::FAILURE;
    }
    println!("{} {} {}", body.len(), answer.count, answer.maxval);
    ExitCode::SUCCESS
}
