//! Native nftables: `nft -j list ruleset` (with `-t` when set elements are
//! not counted), bounded like every command, its JSON handed to the
//! sandbox as bytes.

use super::command::{Bounded, Error, MemoryCap, Output};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// After a full listing ran out of `--nftables.max-memory` or time, how
/// long collections list tersely before a full listing is tried again: a
/// set that outgrew the bounds seldom shrinks back soon, and each failed
/// try costs the time nft took to reach them.
const TERSE_AFTER_FAILURE: Duration = Duration::from_secs(600);

/// The flag whose size caps nft's output.
const MAX_OUTPUT_FLAG: &str = "--nftables.max-output";
/// The flag that bounds nft's memory.
const MAX_MEMORY_FLAG: &str = "--nftables.max-memory";

/// Whether the nftables source runs (`--collector.nftables`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// Neither flag: collected when `nft` is installed, as the default
    /// iptables families are.
    IfInstalled,
    /// `--collector.nftables`: always collected; while `nft` is missing its
    /// success is 0.
    Named,
    /// `--no-collector.nftables`.
    Off,
}

/// How `nft` runs, as configured.
#[derive(Debug, Clone)]
pub struct Config {
    pub wanted: Wanted,
    /// A path, or a name looked up in `PATH` on every run.
    pub program: PathBuf,
    pub timeout: Duration,
    pub max_output: usize,
    /// Most data memory nft may use; `None`: no bound.
    pub max_memory: Option<u64>,
    /// Whether set elements are listed (and counted).
    pub set_elements: bool,
}

/// The listing command.
#[derive(Debug, Clone)]
pub struct ListCommand {
    /// `nft -j list ruleset`, or `nft -j -t list ruleset` without set
    /// elements.
    bounded: Bounded,
    /// The terse listing to fall back on when the full one runs out of
    /// memory (`None` when the listing is terse already, or unbounded).
    terse: Option<Bounded>,
    /// Until when collections list tersely without trying a full listing.
    terse_until: Arc<Mutex<Option<Instant>>>,
    /// How long that is after a failure ([`TERSE_AFTER_FAILURE`]).
    terse_after_failure: Duration,
}

/// What `nft` listed.
#[derive(Debug)]
pub struct Listed {
    pub output: Output,
    /// Whether the listing has set elements (a terse one has none: its
    /// sets' sizes are unknown, not 0).
    pub with_elements: bool,
}

impl ListCommand {
    /// Runs the listing. A full listing that runs out of
    /// `--nftables.max-memory` or `--nftables.timeout` (a large set: nft
    /// lists 1M elements in minutes) is made again tersely, so that only
    /// the set element counts are lost, and collections list tersely at
    /// once for the next [`TERSE_AFTER_FAILURE`].
    pub async fn run(&self) -> Result<Listed, Error> {
        let Some(terse) = &self.terse else {
            let with_elements = !self.bounded.args.iter().any(|a| a == "-t");
            let output = self.bounded.run().await?;
            return Ok(Listed {
                output,
                with_elements,
            });
        };
        let until = *self
            .terse_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if until.is_none_or(|until| Instant::now() >= until) {
            match self.bounded.run().await {
                Ok(output) => {
                    return Ok(Listed {
                        output,
                        with_elements: true,
                    });
                }
                Err(
                    err @ (Error::Failed {
                        memory: Some(_), ..
                    }
                    | Error::Timeout { .. }),
                ) => {
                    let minutes = self.terse_after_failure.as_secs() / 60;
                    tracing::warn!(source = "nftables", %err, minutes, "listing without set elements (nft -t) for a while: nftables_set_elements is left out until a full listing fits");
                    *self
                        .terse_until
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) =
                        Some(Instant::now() + self.terse_after_failure);
                }
                Err(err) => return Err(err),
            }
        }
        let output = terse.run().await?;
        Ok(Listed {
            output,
            with_elements: false,
        })
    }

    /// The command line, for messages.
    pub fn name(&self) -> String {
        self.bounded.name()
    }
}

/// The listing command, unless the source is off or, by default, `nft`
/// is not installed.
pub fn command(config: &Config) -> Option<ListCommand> {
    let found = super::command::resolve(&config.program);
    let program = config.program.display();
    match (config.wanted, found) {
        (Wanted::Off, _) => {
            tracing::info!("nftables source off (--no-collector.nftables)");
            return None;
        }
        (_, Some(path)) => {
            tracing::info!(command = %path.display(), "collecting native nftables tables");
        }
        (Wanted::Named, None) => {
            tracing::warn!(command = %program, "nft not found; nftables_scrape_success will be 0 until it is installed");
        }
        (Wanted::IfInstalled, None) => {
            tracing::info!(command = %program, "nft not found; nftables source left out");
            return None;
        }
    }
    let listing = |terse: bool| {
        let mut args = vec!["-j".to_owned()];
        if terse {
            // Sets without their elements: far cheaper for large sets.
            args.push("-t".to_owned());
        }
        args.extend(["list".to_owned(), "ruleset".to_owned()]);
        Bounded {
            program: config.program.clone(),
            args,
            timeout: config.timeout,
            max_output: config.max_output,
            max_output_flag: MAX_OUTPUT_FLAG,
            max_memory: config.max_memory.map(|bytes| MemoryCap {
                bytes,
                flag: MAX_MEMORY_FLAG,
            }),
        }
    };
    Some(ListCommand {
        bounded: listing(!config.set_elements),
        // Only a full listing has elements to leave out.
        terse: config.set_elements.then(|| listing(true)),
        terse_until: Arc::default(),
        terse_after_failure: TERSE_AFTER_FAILURE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tests::script;

    fn config(program: PathBuf, wanted: Wanted, set_elements: bool) -> Config {
        Config {
            wanted,
            program,
            // Far above what these scripts need, even on a loaded machine.
            timeout: Duration::from_secs(30),
            max_output: 1024,
            max_memory: None,
            set_elements,
        }
    }

    #[tokio::test]
    async fn lists_the_ruleset_as_json_and_tersely_without_set_elements() {
        let path = script(r#"echo "args: $*""#);
        let full = command(&config(path.to_path_buf(), Wanted::Named, true)).expect("named");
        let listed = full.run().await.expect("runs");
        assert_eq!(listed.output.stdout, b"args: -j list ruleset\n");
        assert!(listed.with_elements);
        let terse = command(&config(path.to_path_buf(), Wanted::Named, false)).expect("named");
        let listed = terse.run().await.expect("runs");
        assert_eq!(listed.output.stdout, b"args: -j -t list ruleset\n");
        assert!(!listed.with_elements);
    }

    #[tokio::test]
    async fn a_full_listing_out_of_memory_or_time_is_made_again_tersely_for_a_while() {
        let tries = tempfile::NamedTempFile::new().expect("temp file");
        let tries_path = tries.path().display().to_string();
        // Each full listing tried leaves a line in `tries`; the terse one
        // succeeds. One full listing runs past its memory bound, the other
        // past its time.
        let hungry = script(&format!(
            r#"case "$*" in *-t*) echo "terse: $*" ;; *) echo full >> '{tries_path}'; exec dd if=/dev/zero of=/dev/null bs=64M count=1 ;; esac"#
        ));
        let slow = script(&format!(
            r#"case "$*" in *-t*) echo "terse: $*" ;; *) echo full >> '{tries_path}'; exec sleep 30 ;; esac"#
        ));
        let full_tries = || {
            std::fs::read_to_string(tries.path())
                .expect("tries")
                .lines()
                .count()
        };
        for (path, timeout) in [(&hungry, 30), (&slow, 1)] {
            std::fs::write(tries.path(), "").expect("reset");
            let mut bounded = config(path.to_path_buf(), Wanted::Named, true);
            bounded.max_memory = Some(16 << 20);
            bounded.timeout = Duration::from_secs(timeout);
            let mut cmd = command(&bounded).expect("named");
            cmd.terse_after_failure = Duration::from_secs(3600);
            for collection in 0..3 {
                let listed = cmd.run().await.expect("the terse listing");
                assert_eq!(listed.output.stdout, b"terse: -j -t list ruleset\n");
                assert!(!listed.with_elements, "collection {collection}");
            }
            assert_eq!(
                full_tries(),
                1,
                "only the first collection tried the full listing"
            );
            // Once the while is over, the full listing is tried again.
            *cmd.terse_until.lock().expect("lock") = Some(Instant::now());
            let listed = cmd.run().await.expect("terse again");
            assert!(!listed.with_elements);
            assert_eq!(full_tries(), 2);
        }
        // Any other failure is the listing's failure.
        let failing = script("echo 'Operation not permitted' >&2; exit 1");
        let mut bounded = config(failing.to_path_buf(), Wanted::Named, true);
        bounded.max_memory = Some(16 << 20);
        let err = command(&bounded).expect("named").run().await;
        assert!(err.is_err_and(|e| e.to_string().contains("Operation not permitted")));
    }

    #[test]
    fn a_missing_nft_is_left_out_by_default_and_kept_when_named() {
        let missing = PathBuf::from("/nonexistent/nft");
        assert!(command(&config(missing.clone(), Wanted::IfInstalled, true)).is_none());
        assert!(command(&config(missing.clone(), Wanted::Named, true)).is_some());
        let path = script("true");
        assert!(command(&config(path.to_path_buf(), Wanted::Off, true)).is_none());
    }

    #[tokio::test]
    async fn the_output_cap_names_its_flag() {
        let path = script("head -c 2000 /dev/zero");
        let cmd = command(&config(path.to_path_buf(), Wanted::Named, true)).expect("named");
        let err = cmd.run().await.expect_err("2000 bytes > 1024");
        assert!(err.to_string().contains("(--nftables.max-output)"), "{err}");
    }
}
