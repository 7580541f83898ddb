//! Every Bourse service, in the order `bourse dev` starts them. A new service is its crate, its
//! dependency line in this crate's `Cargo.toml`, and one line here: `bourse dev` (flags, start
//! order, banner), `bourse migrate` and the gateway's `/health/all` in `bourse dev` all derive
//! from this list.

use bus::kit::Launcher;

/// The gateway comes last: it routes to the others, so its HTTP port opens once they answer.
pub(crate) const SERVICES: &[Launcher] = &[
    Launcher::of::<market::App>(),
    Launcher::of::<identity::App>(),
    Launcher::of::<portfolio::App>(),
    Launcher::of::<valuation::App>(),
    Launcher::of::<terminal::App>(),
    Launcher::of::<assistant::App>(),
    Launcher::of::<workspace::App>(),
    Launcher::of::<gateway::App>(),
];

/// The names of [`SERVICES`], in order.
pub(crate) fn names() -> Vec<&'static str> {
    SERVICES.iter().map(|service| service.name).collect()
}
