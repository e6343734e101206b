//! ferredis-server: the binary. Everything happens in `ferredis::server::main()`.

#[global_allocator]
static GLOBAL: ferredis::zmalloc::CountingAllocator = ferredis::zmalloc::CountingAllocator;

fn main() {
    std::process::exit(ferredis::server::main());
}
