//! argon2id password hashing, off the async runtime and bounded in memory.
//!
//! Each hash takes `memory_kib` of RAM and a few dozen milliseconds of one core, so hashing runs
//! on `spawn_blocking` threads, at most one per core at a time: a burst of logins queues here
//! instead of stalling the runtime or allocating 19 MiB per request in flight.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{self, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use contracts::Secret;
use tokio::sync::{OnceCell, Semaphore};

use crate::error::IdentityError;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordHashing {
    /// OWASP's recommended minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    /// For tests only: as cheap as argon2 allows, so suites stay fast.
    pub const INSECURE_FOR_TESTS: Self = Self {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Hashes and verifies passwords.
pub struct Passwords {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// A hash of nothing anyone knows, verified against when a login names an unknown email so
    /// that it takes as long as a wrong password.
    dummy: OnceCell<String>,
    /// argon2 verifications run so far: a login's cost in work rather than in wall-clock time,
    /// which tests compare.
    verifications: AtomicU64,
}

impl Passwords {
    pub fn new(cost: PasswordHashing) -> Result<Self, IdentityError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|err| IdentityError::Hashing(format!("argon2 parameters: {err}")))?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(cores)),
            dummy: OnceCell::new(),
            verifications: AtomicU64::new(0),
        })
    }

    /// Computes the dummy hash now, so the first login with an unknown email is not slower.
    pub async fn warm_up(&self) -> Result<(), IdentityError> {
        self.dummy_hash().await.map(|_| ())
    }

    /// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
    pub async fn hash(&self, password: &Secret) -> Result<String, IdentityError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|err| IdentityError::Hashing(format!("salt: {err}")))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|err| IdentityError::Hashing(err.to_string()))?;
        let argon2 = self.argon2.clone();
        let password = password.clone();
        self.blocking(move || {
            argon2
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|err| IdentityError::Hashing(err.to_string()))
        })
        .await
    }

    /// Whether `password` matches `hash`. With no hash (an unknown account) it verifies against
    /// the dummy hash and answers `false`, taking the same time as a real check.
    pub async fn verify(
        &self,
        password: &Secret,
        hash: Option<&str>,
    ) -> Result<bool, IdentityError> {
        let (stored, known) = match hash {
            Some(hash) => (hash.to_owned(), true),
            None => (self.dummy_hash().await?.to_owned(), false),
        };
        let argon2 = self.argon2.clone();
        let password = password.clone();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let matches = self
            .blocking(move || {
                let parsed = PasswordHash::new(&stored)
                    .map_err(|err| IdentityError::Corrupt(format!("password hash: {err}")))?;
                match argon2.verify_password(password.expose().as_bytes(), &parsed) {
                    Ok(()) => Ok(true),
                    Err(password_hash::Error::Password) => Ok(false),
                    Err(err) => Err(IdentityError::Hashing(err.to_string())),
                }
            })
            .await?;
        Ok(matches && known)
    }

    /// How many argon2 verifications ran, against real hashes and the dummy alike.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    async fn dummy_hash(&self) -> Result<&str, IdentityError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let mut random = [0u8; 24];
                getrandom::fill(&mut random)
                    .map_err(|err| IdentityError::Hashing(err.to_string()))?;
                let unguessable: String = random.iter().map(|b| format!("{b:02x}")).collect();
                self.hash(&Secret::new(unguessable)).await
            })
            .await?;
        Ok(dummy.as_str())
    }

    /// Runs CPU-heavy `work` on a blocking thread, one per core at a time.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, IdentityError> + Send + 'static,
    ) -> Result<T, IdentityError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| IdentityError::Hashing("hasher closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| IdentityError::Hashing(err.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwords() -> Passwords {
        Passwords::new(PasswordHashing::INSECURE_FOR_TESTS).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = passwords();
        let hash = passwords
            .hash(&Secret::new("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
        assert!(
            passwords
                .verify(&Secret::new("correct horse battery"), Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(&Secret::new("correct horse battery!"), Some(&hash))
                .await
                .unwrap()
        );
    }

    /// The part of a PHC string that sets the work: algorithm, version and cost.
    fn cost_of(phc: &str) -> String {
        phc.split('$').take(4).collect::<Vec<_>>().join("$")
    }

    #[tokio::test]
    async fn the_dummy_hash_costs_exactly_what_a_real_one_does() {
        let passwords = Passwords::new(PasswordHashing::OWASP).unwrap();
        let real = passwords
            .hash(&Secret::new("a real password"))
            .await
            .unwrap();
        let dummy = passwords.dummy_hash().await.unwrap();
        assert_eq!(cost_of(dummy), cost_of(&real));
        assert_eq!(cost_of(&real), "$argon2id$v=19$m=19456,t=2,p=1");
    }

    #[tokio::test]
    async fn the_same_password_gets_a_different_salt_each_time() {
        let passwords = passwords();
        let a = passwords.hash(&Secret::new("same password")).await.unwrap();
        let b = passwords.hash(&Secret::new("same password")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(
            !passwords()
                .verify(&Secret::new("anything at all"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn owasp_parameters_are_written_into_the_hash() {
        let hash = Passwords::new(PasswordHashing::OWASP)
            .unwrap()
            .hash(&Secret::new("p"))
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }
}
