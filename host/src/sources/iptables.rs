//! iptables and ip6tables: the families, their save commands
//! (`iptables-save -c`, or one `-t TABLE` run per table, all at once), and
//! which families to collect.

use super::command::{Bounded, Error, Output};
use exposition::Family;
use std::path::PathBuf;
use std::time::Duration;

/// The flag whose size caps a save command's output.
const MAX_OUTPUT_FLAG: &str = "--iptables.max-output";

/// The families collected when none are named (`--iptables.families`).
pub const DEFAULT_FAMILIES: [Family; 2] = Family::ALL;

/// One family's save command.
#[derive(Debug, Clone)]
pub struct SaveCommand {
    /// As configured: a path, or a name looked up in `PATH` on every run.
    pub program: PathBuf,
    pub timeout: Duration,
    /// Largest output accepted, all tables together; more fails the run.
    pub max_save_bytes: usize,
    /// Tables to save, each with `-t TABLE`; empty for every table, in one
    /// run without `-t`.
    pub tables: Vec<String>,
}

impl SaveCommand {
    /// Runs `PROGRAM -c`, or `PROGRAM -c -t TABLE` for each table given
    /// (all at once: a slow table then costs its own time, not the sum),
    /// and returns their stdout in the order of the tables.
    pub async fn run(&self) -> Result<Output, Error> {
        if self.tables.is_empty() {
            return self.bounded(None).run().await;
        }
        let runs: Vec<Bounded> = self.tables.iter().map(|t| self.bounded(Some(t))).collect();
        let outputs = futures_util::future::try_join_all(runs.iter().map(Bounded::run)).await?;
        let mut whole = Output::empty();
        for output in outputs {
            if !whole.append(output, self.max_save_bytes) {
                return Err(self.bounded(None).too_large());
            }
        }
        Ok(whole)
    }

    /// One run: `PROGRAM -c [-t TABLE]`.
    fn bounded(&self, table: Option<&str>) -> Bounded {
        let mut args = vec!["-c".to_owned()];
        args.extend(
            table
                .map(|table| ["-t".to_owned(), table.to_owned()])
                .into_iter()
                .flatten(),
        );
        Bounded {
            program: self.program.clone(),
            args,
            timeout: self.timeout,
            max_output: self.max_save_bytes,
            max_output_flag: MAX_OUTPUT_FLAG,
            // The save commands' memory is small and bounded by their
            // ruleset (121 MB at 100k rules): not worth a flag.
            max_memory: None,
        }
    }
}

/// Where the save commands are and how they run, as configured.
#[derive(Debug, Clone)]
pub struct Config {
    /// The families named (`--iptables.families`), or `None` for the
    /// defaults.
    pub named: Option<Vec<Family>>,
    pub ipv4_save: PathBuf,
    pub ipv6_save: PathBuf,
    pub timeout: Duration,
    pub max_save_bytes: usize,
    pub tables: Vec<String>,
}

/// No family left to collect.
#[derive(Debug, thiserror::Error)]
#[error(
    "no save command found ({ipv4} for ipv4, {ipv6} for ipv6): nothing to collect; install iptables, or name the families with --iptables.families to report them as failing"
)]
pub struct NothingToCollect {
    ipv4: String,
    ipv6: String,
}

/// The families to collect, in order, with their save commands. A family
/// named is always collected (its success is 0 while its command is
/// missing, and the command is looked for again on every scrape); of the
/// default families, one whose command is not installed is left out.
pub fn families(config: &Config) -> Result<Vec<(Family, SaveCommand)>, NothingToCollect> {
    let named = config.named.as_deref();
    let mut families = Vec::new();
    for &family in named.unwrap_or(&DEFAULT_FAMILIES) {
        let configured = match family {
            Family::Ipv4 => &config.ipv4_save,
            Family::Ipv6 => &config.ipv6_save,
        };
        match super::command::resolve(configured) {
            Some(program) => {
                tracing::info!(%family, command = %program.display(), "collecting family");
            }
            None if named.is_some() => {
                tracing::warn!(%family, command = %configured.display(), "save command not found; iptables_scrape_success will be 0 until it is installed");
            }
            None => {
                tracing::warn!(%family, command = %configured.display(), "save command not found; family left out");
                continue;
            }
        }
        families.push((
            family,
            SaveCommand {
                program: configured.clone(),
                timeout: config.timeout,
                max_save_bytes: config.max_save_bytes,
                tables: config.tables.clone(),
            },
        ));
    }
    if families.is_empty() {
        return Err(NothingToCollect {
            ipv4: config.ipv4_save.display().to_string(),
            ipv6: config.ipv6_save.display().to_string(),
        });
    }
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tests::script;
    use std::path::Path;

    fn command(path: &Path) -> SaveCommand {
        SaveCommand {
            program: path.to_path_buf(),
            // Far above what any of these scripts needs, even on a loaded machine.
            timeout: Duration::from_secs(30),
            max_save_bytes: 1024,
            tables: Vec::new(),
        }
    }

    #[tokio::test]
    async fn tables_run_at_once_and_join_in_the_order_given() {
        // `nat` answers last (it waits for `filter`'s marker), so the
        // output order cannot come from the finishing order; and `filter`
        // waits for nothing, so the runs overlap or the test hangs.
        let dir = tempfile::tempdir().expect("temp dir");
        let marker = dir.path().join("filter-ran");
        let path = script(&format!(
            r#"if [ "$3" = nat ]; then while [ ! -e '{m}' ]; do sleep 0.01; done; fi
echo "args: $*"; touch '{m}'"#,
            m = marker.display()
        ));
        let mut cmd = command(&path);
        cmd.tables = vec!["nat".into(), "filter".into()];
        let out = cmd.run().await.expect("runs");
        assert_eq!(out.stdout, b"args: -c -t nat\nargs: -c -t filter\n");
    }

    #[tokio::test]
    async fn a_failing_table_fails_the_run_and_is_named() {
        let path = script(r#"[ "$3" = raw ] && { echo 'no such table' >&2; exit 1; }; echo ok"#);
        let mut cmd = command(&path);
        cmd.tables = vec!["filter".into(), "raw".into()];
        let err = cmd.run().await.expect_err("raw fails");
        assert!(err.to_string().contains(" -t raw failed"), "{err}");
    }

    #[tokio::test]
    async fn the_output_cap_holds_for_all_tables_together() {
        let path = script("head -c 600 /dev/zero");
        let mut cmd = command(&path);
        cmd.tables = vec!["filter".into(), "nat".into()];
        let err = cmd.run().await.expect_err("1200 bytes > 1024");
        assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
        assert!(err.to_string().contains("(--iptables.max-output)"), "{err}");
    }

    #[tokio::test]
    async fn passes_dash_c_and_returns_stdout() {
        let path = script(r#"echo "args: $*"; echo warning >&2"#);
        let out = command(&path).run().await.expect("runs");
        assert_eq!(out.stdout, b"args: -c\n");
        assert_eq!(out.stderr, "warning");
    }
}
