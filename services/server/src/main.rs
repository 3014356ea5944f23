//! The `lab-server` binary, with the system allocator: everything happens in
//! [`lab_server::serve::main`].

fn main() -> std::process::ExitCode {
    lab_server::serve::main(lab_server::allocator::Allocator::System)
}
