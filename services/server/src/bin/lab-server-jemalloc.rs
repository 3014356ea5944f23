//! The `lab-server-jemalloc` binary: the same server, with jemalloc as its allocator
//! (ALLOCATOR=jemalloc; see `lab_server::allocator`).

#[global_allocator]
static JEMALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    lab_server::serve::main(lab_server::allocator::Allocator::Jemalloc)
}
