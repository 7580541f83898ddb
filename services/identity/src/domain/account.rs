//! Checks and normal forms of account fields. Each returns the value to store, or an
//! [`IdentityError::Invalid`] naming the field.

use contracts::{
    Secret,
    identity::{ClientInfo, Role, limits},
};

use crate::error::IdentityError;

/// Trims and lower-cases `raw`, then checks it looks like an address: one `@`, a local part of
/// at most 64 characters, a domain of dot-separated labels of letters, digits and `-`. Nothing is
/// sent to it, so this only catches typos and junk; it is not RFC 5322.
pub fn email(raw: &str) -> Result<String, IdentityError> {
    let email = normalize_email(raw);
    let invalid =
        || IdentityError::invalid("email", "email must be an address like name@example.com");
    if email.chars().count() > limits::EMAIL_MAX_CHARS {
        return Err(IdentityError::invalid(
            "email",
            format!(
                "email must be at most {} characters",
                limits::EMAIL_MAX_CHARS
            ),
        ));
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.chars().count() <= LOCAL_PART_MAX_CHARS
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
    let domain_ok = !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(invalid())
    }
}

/// RFC 5321's limit on the part before the `@`.
const LOCAL_PART_MAX_CHARS: usize = 64;

/// The form emails are stored and looked up in: trimmed, lower-cased.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Trims `raw` and checks it is 1 to 100 characters without control characters.
pub fn name(raw: &str) -> Result<String, IdentityError> {
    contracts::value::text("name", raw, 1..=limits::NAME_MAX_CHARS)
        .map_err(|err| IdentityError::invalid(err.field, err.message))
}

/// A new password must be 10 to 128 characters (counted as characters, not bytes). It is not
/// trimmed: spaces are part of a passphrase.
pub fn new_password(password: &Secret, field: &'static str) -> Result<(), IdentityError> {
    let chars = password.expose().chars().count();
    if !(limits::PASSWORD_MIN_CHARS..=limits::PASSWORD_MAX_CHARS).contains(&chars) {
        return Err(IdentityError::invalid(
            field,
            format!(
                "password must be {} to {} characters",
                limits::PASSWORD_MIN_CHARS,
                limits::PASSWORD_MAX_CHARS
            ),
        ));
    }
    Ok(())
}

/// Whether `password` could be anyone's: longer ones were never accepted. A login still runs
/// a (dummy) comparison for one that cannot, so that it takes as long as any other failure.
pub fn could_be_a_password(password: &Secret) -> bool {
    password.expose().chars().count() <= limits::PASSWORD_MAX_CHARS
}

/// Sorted, without duplicates, always with `user`.
pub fn roles(requested: &[Role]) -> Vec<Role> {
    let mut roles: Vec<Role> = requested.iter().copied().chain([Role::User]).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// What is kept of a client's details: the address as is, the user agent without control
/// characters and cut to 512 characters.
pub fn client(client: ClientInfo) -> ClientInfo {
    let user_agent = client
        .user_agent
        .map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(limits::USER_AGENT_MAX_CHARS)
                .collect::<String>()
        })
        .filter(|ua| !ua.is_empty());
    ClientInfo {
        ip: client.ip,
        user_agent,
    }
}

/// An email as the login audit records it: normalised and cut to 254 characters, whatever the
/// caller sent.
pub fn audit_email(raw: &str) -> String {
    normalize_email(raw)
        .chars()
        .take(limits::EMAIL_MAX_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            email("  Ada.Lovelace+bourse@Example.COM ").unwrap(),
            "ada.lovelace+bourse@example.com"
        );
        assert_eq!(email("admin@localhost").unwrap(), "admin@localhost");
    }

    #[test]
    fn junk_is_not_an_email() {
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@@b.c",
            "a b@c.d",
            "a@b..c",
            "a@-b.c",
            "a@b.c.",
            "<a>@b.c",
            &long,
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  Ada  ").unwrap(), "Ada");
        assert!(name("   ").is_err());
        assert!(name(&"n".repeat(101)).is_err());
        assert!(name(&"é".repeat(100)).is_ok(), "counted in characters");
        assert!(name("a\u{0}b").is_err());
    }

    #[test]
    fn passwords_are_ten_to_128_characters() {
        assert!(new_password(&Secret::new("123456789"), "password").is_err());
        assert!(new_password(&Secret::new("1234567890"), "password").is_ok());
        assert!(
            new_password(&Secret::new("é".repeat(128)), "password").is_ok(),
            "256 bytes, 128 characters"
        );
        assert!(new_password(&Secret::new("x".repeat(129)), "password").is_err());
    }

    #[test]
    fn roles_always_include_user_once() {
        assert_eq!(roles(&[]), [Role::User]);
        assert_eq!(
            roles(&[Role::Admin, Role::Admin, Role::User]),
            [Role::User, Role::Admin]
        );
    }

    #[test]
    fn user_agents_lose_control_characters_and_length() {
        let kept = client(ClientInfo {
            ip: None,
            user_agent: Some(format!("evil\r\nagent{}", "x".repeat(600))),
        });
        let ua = kept.user_agent.unwrap();
        assert!(
            ua.starts_with("evilagent") && ua.chars().count() == 512,
            "{ua}"
        );
    }
}
