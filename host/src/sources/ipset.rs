//! ipset: `ipset list -t` (the sets' headers: cheap however large the
//! sets are), then `ipset list NAME` for each of the few sets the
//! component names (no entry count from the kernel, or element counters
//! wanted), bounded like every command; the bytes go to the sandbox as
//! they are.
//!
//! A set listed on its own may be destroyed meanwhile (`ipset list` fails:
//! the set no longer exists), or be too large for what is left of the
//! output cap: only that set's members are missing then (it has no count
//! when the kernel gave none, and no element series), not the source.

use super::Wanted;
use super::command::{Bounded, Error, Output};
use bytes::Bytes;
use std::path::PathBuf;
use std::time::Duration;

/// The flag whose size caps ipset's output.
const MAX_OUTPUT_FLAG: &str = "--ipset.max-output";

/// How `ipset` runs, as configured.
#[derive(Debug, Clone)]
pub struct Config {
    pub wanted: Wanted,
    /// A path, or a name looked up in `PATH` on every run.
    pub program: PathBuf,
    pub timeout: Duration,
    /// Most bytes of the headers, and of all member listings together.
    pub max_output: usize,
}

/// The listing commands.
#[derive(Debug, Clone)]
pub struct ListCommand {
    /// `ipset` with the bounds; its arguments are set per run.
    bounded: Bounded,
}

impl ListCommand {
    /// `ipset list -t`: every set's header, no members.
    pub async fn headers(&self) -> Result<Output, Error> {
        self.bounded.with_args(["list", "-t"]).run().await
    }

    /// `ipset list NAME` for each of `sets`, one after the other, within
    /// what is left of the output cap together; a set that cannot be
    /// listed is logged and left out.
    pub async fn members(&self, sets: &[String]) -> Vec<(String, Bytes)> {
        let mut listed = Vec::with_capacity(sets.len());
        let mut left = self.bounded.max_output;
        for set in sets {
            let mut bounded = self.bounded.with_args(["list", set.as_str()]);
            bounded.max_output = left;
            match bounded.run().await {
                Ok(output) => {
                    left -= output.stdout.len().min(left);
                    listed.push((set.clone(), Bytes::from(output.stdout)));
                }
                Err(err) => {
                    tracing::warn!(source = "ipset", set = %set, %err, "a set's members could not be listed: it has no element series, nor a count where the kernel gives none");
                }
            }
        }
        listed
    }
}

/// The listing command, unless the source is off or, by default, `ipset`
/// is not installed.
pub fn command(config: &Config) -> Option<ListCommand> {
    if !super::enabled(config.wanted, &config.program, "ipset", "collecting ipsets") {
        return None;
    }
    Some(ListCommand {
        bounded: Bounded {
            program: config.program.clone(),
            args: Vec::new(),
            timeout: config.timeout,
            max_output: config.max_output,
            max_output_flag: MAX_OUTPUT_FLAG,
            max_memory: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tests::script;

    fn config(program: PathBuf, max_output: usize) -> Config {
        Config {
            wanted: Wanted::Named,
            program,
            // Far above what these scripts need, even on a loaded machine.
            timeout: Duration::from_secs(30),
            max_output,
        }
    }

    #[tokio::test]
    async fn lists_headers_tersely_and_each_set_on_its_own_leaving_out_those_that_fail() {
        // `gone` was destroyed after the headers were listed.
        let path = script(
            r#"case "$*" in "list gone") echo 'ipset v7.17: The set with the given name does not exist' >&2; exit 1 ;; *) echo "args: $*" ;; esac"#,
        );
        let cmd = command(&config(path.to_path_buf(), 1024)).expect("named");
        assert_eq!(
            cmd.headers().await.expect("runs").stdout,
            b"args: list -t\n"
        );
        let sets = ["a".to_owned(), "gone".to_owned(), "b c".to_owned()];
        let listed = cmd.members(&sets).await;
        let got: Vec<(&str, &[u8])> = listed.iter().map(|(s, o)| (s.as_str(), &o[..])).collect();
        assert_eq!(
            got,
            [
                ("a", &b"args: list a\n"[..]),
                ("b c", &b"args: list b c\n"[..])
            ]
        );
    }

    #[tokio::test]
    async fn member_listings_share_the_output_cap() {
        // 600 bytes each: the first fits in 1024, the second no longer.
        let path = script("head -c 600 /dev/zero");
        let cmd = command(&config(path.to_path_buf(), 1024)).expect("named");
        let listed = cmd.members(&["a".to_owned(), "b".to_owned()]).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, "a");
        let err = command(&config(path.to_path_buf(), 100))
            .expect("named")
            .headers()
            .await
            .expect_err("600 bytes > 100");
        assert!(err.to_string().contains("(--ipset.max-output)"), "{err}");
    }

    #[test]
    fn a_missing_ipset_is_left_out_by_default_and_kept_when_named() {
        let mut missing = config(PathBuf::from("/nonexistent/ipset"), 1024);
        assert!(command(&missing).is_some());
        missing.wanted = Wanted::IfInstalled;
        assert!(command(&missing).is_none());
        let path = script("true");
        let mut off = config(path.to_path_buf(), 1024);
        off.wanted = Wanted::Off;
        assert!(command(&off).is_none());
    }
}
