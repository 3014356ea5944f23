//! Writes the lab's contract file (`services/core/contract/lab-contract.json`) anew from
//! lab-core's kinds and names: `cargo run -p lab-core --example write_contract`.

fn main() -> std::io::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contract/lab-contract.json");
    std::fs::write(&path, lab_core::contract::contract_text())?;
    println!("wrote {}", path.display());
    Ok(())
}
