//! ferredis-server: the binary. It installs the counting allocator (zmalloc.rs) and runs
//! `ferredis::startup::main()`, Redis's main().

#[global_allocator]
static GLOBAL: ferredis::zmalloc::CountingAllocator = ferredis::zmalloc::CountingAllocator;

fn main() {
    std::process::exit(ferredis::startup::main());
}
