//! HTTP basic authentication against bcrypt hashes (`basic_auth_users`).
//!
//! A bcrypt check takes tens of milliseconds by design, so a successful
//! one is remembered: the cache holds SHA-256 digests of (user, password,
//! hash), never a password, and is dropped with the configuration on
//! reload. Requests with the same credentials that arrive together wait
//! for the one check already running instead of starting their own, so
//! that 16 scrapes at once cost one bcrypt run. A failed check is never
//! cached. An unknown user is checked
//! against a stand-in hash, so that a wrong user and a wrong password take
//! the same time, as exporter-toolkit does.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The salt and digest of a bcrypt hash of a password nobody has; an
/// unknown user is checked against them, at the configured users' cost
/// (see [`stand_in_hash`]).
const STAND_IN_SALT_AND_DIGEST: &str = "QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
/// The cost of the stand-in when no user is configured.
const DEFAULT_COST: u32 = 10;
/// Successful checks remembered at most; the cache is emptied beyond.
const CACHE_ENTRIES: usize = 1024;

pub struct Users {
    hashes: BTreeMap<String, String>,
    /// Checked for unknown users: as slow as a known user's hash.
    stand_in: String,
    verified: Mutex<HashSet<[u8; 32]>>,
    /// The credentials being checked now, each with a lock its check
    /// holds.
    checking: Mutex<HashMap<[u8; 32], Arc<Mutex<()>>>>,
    /// bcrypt checks run, for the tests to count.
    bcrypt_runs: AtomicUsize,
}

impl Users {
    /// Checks that every hash is a bcrypt hash; an error names the user.
    pub fn new(hashes: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut costs = Vec::with_capacity(hashes.len());
        for (user, hash) in hashes {
            if user.contains(':') {
                return Err(format!("{user}: a user name cannot hold `:`"));
            }
            let parts: bcrypt::HashParts = hash
                .parse()
                .map_err(|err| format!("{user}: not a bcrypt hash ({err})"))?;
            costs.push(parts.get_cost());
        }
        Ok(Self {
            hashes: hashes.clone(),
            stand_in: stand_in_hash(&costs),
            verified: Mutex::new(HashSet::new()),
            checking: Mutex::new(HashMap::new()),
            bcrypt_runs: AtomicUsize::new(0),
        })
    }

    /// Whether an `Authorization` header value names a user with the right
    /// password. Blocking (bcrypt): call it off the async worker threads.
    pub fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let Some((user, password)) = authorization.and_then(credentials) else {
            return false;
        };
        let (hash, known) = match self.hashes.get(&user) {
            Some(hash) => (hash.as_str(), true),
            None => (self.stand_in.as_str(), false),
        };
        let digest: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        if known && self.cache().contains(&digest) {
            return true;
        }
        // One check per credentials at a time: the others wait for it and
        // then find its success in the cache.
        let turn = self
            .in_flight()
            .entry(digest)
            .or_insert_with(|| Arc::new(Mutex::new(())))
            .clone();
        let matches = {
            let _turn = turn.lock().unwrap_or_else(PoisonError::into_inner);
            if known && self.cache().contains(&digest) {
                true
            } else {
                self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
                let matches = bcrypt::verify(&password, hash).unwrap_or(false) && known;
                if matches {
                    let mut cache = self.cache();
                    if cache.len() >= CACHE_ENTRIES {
                        cache.clear();
                    }
                    cache.insert(digest);
                }
                matches
            }
        };
        let mut in_flight = self.in_flight();
        // The last one out removes the entry.
        if Arc::strong_count(&turn) == 2 {
            in_flight.remove(&digest);
        }
        matches
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Mutex<()>>>> {
        self.checking.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A bcrypt hash no password matches, at the cost most users' hashes
/// have (the highest of those when several are as common): checking an
/// unknown user then takes as long as checking a wrong password, whatever
/// cost the operator chose.
fn stand_in_hash(costs: &[u32]) -> String {
    let mut counted: BTreeMap<u32, usize> = BTreeMap::new();
    for &cost in costs {
        *counted.entry(cost).or_default() += 1;
    }
    let cost = counted
        .into_iter()
        .max_by_key(|&(cost, count)| (count, cost))
        .map_or(DEFAULT_COST, |(cost, _)| cost);
    format!("$2y${cost:02}${STAND_IN_SALT_AND_DIGEST}")
}

/// `Basic base64(user:password)` → (user, password).
fn credentials(header: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> Vec<u8> {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}").into_bytes()
    }

    fn users() -> Users {
        let hash = bcrypt::hash("secret", 4).expect("hash");
        Users::new(&BTreeMap::from([("prometheus".to_owned(), hash)])).expect("users")
    }

    #[test]
    fn only_the_right_user_and_password_pass() {
        let users = users();
        assert!(users.allows(Some(&header("prometheus", "secret"))));
        // Again, from the cache.
        assert!(users.allows(Some(&header("prometheus", "secret"))));
        assert_eq!(users.cache().len(), 1);
        assert_eq!(users.bcrypt_runs.load(Ordering::Relaxed), 1);
        for (user, password) in [("prometheus", "wrong"), ("nobody", "secret"), ("", "")] {
            assert!(
                !users.allows(Some(&header(user, password))),
                "{user}:{password}"
            );
        }
        assert!(!users.allows(None));
        assert!(!users.allows(Some(b"Bearer abc")));
        assert!(!users.allows(Some(b"Basic !!!")));
        assert_eq!(users.cache().len(), 1, "a failure was cached");
    }

    #[test]
    fn requests_arriving_together_share_one_check() {
        let users = Arc::new(users());
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let users = users.clone();
                std::thread::spawn(move || users.allows(Some(&header("prometheus", "secret"))))
            })
            .collect();
        for thread in threads {
            assert!(thread.join().expect("thread"));
        }
        assert_eq!(users.cache().len(), 1);
        assert_eq!(
            users.bcrypt_runs.load(Ordering::Relaxed),
            1,
            "16 checks, not one"
        );
        assert!(users.in_flight().is_empty(), "an entry was left behind");
    }

    #[test]
    fn the_stand_in_hash_is_a_real_bcrypt_hash_at_the_users_cost() {
        for costs in [&[][..], &[4], &[12, 4, 12], &[5, 6]] {
            let hash = stand_in_hash(costs);
            assert_eq!(bcrypt::verify("x", &hash).ok(), Some(false), "{hash}");
        }
        let cost = |costs: &[u32]| {
            stand_in_hash(costs)
                .parse::<bcrypt::HashParts>()
                .map(|parts| parts.get_cost())
                .expect("a bcrypt hash")
        };
        assert_eq!(cost(&[]), DEFAULT_COST);
        assert_eq!(cost(&[4]), 4);
        assert_eq!(cost(&[13, 13]), 13);
        assert_eq!(cost(&[12, 4, 12]), 12, "the most common cost");
        assert_eq!(cost(&[5, 6]), 6, "the highest of the most common");
    }

    #[test]
    fn an_unknown_user_is_checked_at_the_configured_cost() {
        // bcrypt's time is set by the cost alone: an unknown user checked
        // against a cost-10 stand-in took 47 ms where a wrong password at
        // cost 4 took 1 ms, which told an attacker which users exist.
        let users = users();
        let cost = |hash: &str| hash.parse::<bcrypt::HashParts>().map(|p| p.get_cost()).ok();
        assert_eq!(cost(&users.stand_in), cost(&users.hashes["prometheus"]));
        assert_eq!(cost(&users.stand_in), Some(4));
        assert!(!users.allows(Some(&header("nobody", "secret"))));
        assert_eq!(
            users.bcrypt_runs.load(Ordering::Relaxed),
            1,
            "an unknown user must cost a bcrypt check too"
        );
    }

    #[test]
    fn a_bad_hash_names_its_user() {
        let err = Users::new(&BTreeMap::from([("alice".to_owned(), "plain".to_owned())]))
            .err()
            .expect("refused");
        assert!(err.starts_with("alice: not a bcrypt hash"), "{err}");
    }
}
