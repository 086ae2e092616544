//! Native nftables: `nft -j list ruleset` (with `-t` when set elements are
//! not counted), bounded like every command, its JSON handed to the
//! sandbox as bytes.

use super::command::{Bounded, Error, Output};
use std::path::PathBuf;
use std::time::Duration;

/// The flag whose size caps nft's output.
const MAX_OUTPUT_FLAG: &str = "--nftables.max-output";

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
    /// Whether set elements are listed (and counted).
    pub set_elements: bool,
}

/// The listing command.
#[derive(Debug, Clone)]
pub struct ListCommand {
    bounded: Bounded,
    /// Whether the listing has set elements to count.
    pub set_elements: bool,
}

impl ListCommand {
    /// Runs `nft -j list ruleset` (`nft -j -t list ruleset` without set
    /// elements) and returns its stdout.
    pub async fn run(&self) -> Result<Output, Error> {
        self.bounded.run().await
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
    let mut args = vec!["-j".to_owned()];
    if !config.set_elements {
        // Terse: sets without their elements, far cheaper for large sets.
        args.push("-t".to_owned());
    }
    args.extend(["list".to_owned(), "ruleset".to_owned()]);
    Some(ListCommand {
        bounded: Bounded {
            program: config.program.clone(),
            args,
            timeout: config.timeout,
            max_output: config.max_output,
            max_output_flag: MAX_OUTPUT_FLAG,
        },
        set_elements: config.set_elements,
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
            set_elements,
        }
    }

    #[tokio::test]
    async fn lists_the_ruleset_as_json_and_tersely_without_set_elements() {
        let path = script(r#"echo "args: $*""#);
        let full = command(&config(path.to_path_buf(), Wanted::Named, true)).expect("named");
        assert_eq!(
            full.run().await.expect("runs").stdout,
            b"args: -j list ruleset\n"
        );
        let terse = command(&config(path.to_path_buf(), Wanted::Named, false)).expect("named");
        assert_eq!(
            terse.run().await.expect("runs").stdout,
            b"args: -j -t list ruleset\n"
        );
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
