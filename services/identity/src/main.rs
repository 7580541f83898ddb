//! The identity service as its own process: flags, logging and start-up are the service kit's.

fn main() -> anyhow::Result<()> {
    bus::kit::main::<identity::App>()
}
