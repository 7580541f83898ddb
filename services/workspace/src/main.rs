//! The workspace service as its own process: flags, logging and start-up are the service kit's.

/// mimalloc, not glibc's malloc, as every Bourse binary (see the gateway's bench notes).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    bus::kit::main::<workspace::App>()
}
