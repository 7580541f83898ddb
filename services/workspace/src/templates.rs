//! What a new project starts with: folders shipped with Bourse (`templates/<name>/` in this
//! crate), built into the binary so a deployment needs nothing beside it. A `gitignore` in a
//! template is written as `.gitignore` (a dot-file in the source tree would be easy to miss).

use contracts::workspace::Template;

/// The files of `template`: relative path and content.
pub fn files(template: Template) -> &'static [(&'static str, &'static str)] {
    match template {
        Template::Empty => &[
            ("README.md", include_str!("../templates/empty/README.md")),
            (".gitignore", include_str!("../templates/empty/gitignore")),
        ],
        Template::Strategy => &[
            ("README.md", include_str!("../templates/strategy/README.md")),
            (
                "strategy.py",
                include_str!("../templates/strategy/strategy.py"),
            ),
            (
                ".gitignore",
                include_str!("../templates/strategy/gitignore"),
            ),
        ],
    }
}

pub fn name(template: Template) -> &'static str {
    match template {
        Template::Empty => "empty",
        Template::Strategy => "strategy",
    }
}

pub fn parse(name: &str) -> Option<Template> {
    match name {
        "empty" => Some(Template::Empty),
        "strategy" => Some(Template::Strategy),
        _ => None,
    }
}
