//! The gateway as its own process: flags, logging and start-up are the service kit's.

/// mimalloc, not glibc's malloc: memory allocated on one runtime worker and freed on another
/// took an arena lock in glibc, ~6 futex calls per gateway request in the bench profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    bus::kit::main::<gateway::App>()
}
