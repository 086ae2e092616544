//! Native nftables: which tables there are (`nft -j list chains` and
//! `list sets`, cheap), then each table that is not the iptables source's
//! (`nft -j list table FAMILY NAME`, with `-t` when set elements are not
//! counted), bounded like every command, the output handed to the sandbox
//! as bytes, one document per command, one after another.
//!
//! When a listing runs out of `--nftables.max-memory` or time, the next
//! cheaper way is taken ([`Mode`]): without set elements (a big set), then
//! as text (many rules: nft 1.0.6 builds its whole JSON in memory, 824 MB
//! at 100k rules, and prints text as it goes, 362 MB), then text without
//! set elements. The component reads either.
//!
//! Table by table, because nft 1.0.6 fetches every rule of the ruleset for
//! `list ruleset` and even `list tables`: on a node with 100k iptables-nft
//! rules that is 8–10 s and 0.4–0.9 GB each collection, for tables the
//! iptables source exports already; `list table` fetches its own rules
//! only (0.05 s and 13 MB for a small table there).

pub use super::Wanted;
use super::command::{Bounded, Error, MemoryCap, Output};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// After a listing ran out of `--nftables.max-memory` or time, how long
/// collections start at the cheaper way that came next before the full
/// JSON listing is tried again: a ruleset or set that outgrew the bounds
/// seldom shrinks back soon, and each failed try costs the time nft took
/// to reach them.
const FALLBACK_PERIOD: Duration = Duration::from_secs(600);

/// A way of listing, from the one that says most to the one that costs
/// least; each is tried when the one before ran out of memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `nft -j`: what the component reads best (every expression
    /// structured), set elements counted.
    Json,
    /// `nft -j -t`: no set elements (nft lists 1M elements in minutes).
    JsonTerse,
    /// `nft`: the same series from nft's text, in less than half the
    /// memory for many rules.
    Text,
    /// `nft -t`: text without set elements.
    TextTerse,
}

impl Mode {
    /// The ways tried, in order: the terse ones only when set elements are
    /// not counted.
    fn ladder(set_elements: bool) -> &'static [Mode] {
        if set_elements {
            &[Mode::Json, Mode::JsonTerse, Mode::Text, Mode::TextTerse]
        } else {
            &[Mode::JsonTerse, Mode::TextTerse]
        }
    }

    fn flags(self) -> &'static [&'static str] {
        match self {
            Mode::Json => &["-j"],
            Mode::JsonTerse => &["-j", "-t"],
            Mode::Text => &[],
            Mode::TextTerse => &["-t"],
        }
    }

    fn with_elements(self) -> bool {
        matches!(self, Mode::Json | Mode::Text)
    }

    /// What a collection listing this way loses, for the log.
    fn says(self) -> &'static str {
        match self {
            Mode::Json => "listing as JSON",
            Mode::JsonTerse => {
                "listing without set elements (nft -t): nftables_set_elements is left out"
            }
            Mode::Text => "listing as text (nft without -j): the same series, read from nft's text",
            Mode::TextTerse => {
                "listing as text without set elements (nft -t without -j): nftables_set_elements is left out"
            }
        }
    }
}

/// The flag whose size caps nft's output.
const MAX_OUTPUT_FLAG: &str = "--nftables.max-output";
/// The flag that bounds nft's memory.
const MAX_MEMORY_FLAG: &str = "--nftables.max-memory";

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
    /// `nft` with the bounds; its arguments are set per run.
    bounded: Bounded,
    /// Whether set elements are listed (and counted).
    set_elements: bool,
    /// After a failure: the step of [`Mode::ladder`] collections start at,
    /// and until when.
    fallback: Arc<Mutex<Option<(usize, Instant)>>>,
    /// How long that is ([`FALLBACK_PERIOD`]).
    fallback_period: Duration,
}

/// What `nft` listed.
#[derive(Debug)]
pub struct Listed {
    pub output: Output,
    /// Whether the listing has set elements (a terse one has none: its
    /// sets' sizes are unknown, not 0).
    pub with_elements: bool,
}

impl Listed {
    fn new(output: Output, mode: Mode) -> Self {
        Listed {
            output,
            with_elements: mode.with_elements(),
        }
    }
}

/// A listing with no table: what a collection with nothing to list reads.
const EMPTY_LISTING: &[u8] = b"{\"nftables\": []}\n";

impl ListCommand {
    /// `nft -j -t list chains` and `nft -j -t list sets`, one after the other:
    /// every table with a chain or a set is named there (a table of only
    /// named counters or quotas is not: nft 1.0.6 fetches every rule to
    /// list those).
    pub async fn index(&self) -> Result<Output, Error> {
        // Terse: `list sets` lists every element otherwise (a 1M-element
        // set took more than a minute), and the index needs only names.
        self.run_each(
            &[&["list", "chains"][..], &["list", "sets"]],
            Mode::JsonTerse,
        )
        .await
    }

    /// Each of `tables` (family, name) listed. A table nft cannot name on
    /// its command line (nft 1.0.6 takes no keyword as a table name: `inet
    /// sets` is a syntax error, quoted or not) or that is gone since the
    /// index fails that listing: the whole ruleset is listed instead (the
    /// render leaves out the iptables source's tables all the same).
    pub async fn list(&self, tables: &[(String, String)]) -> Result<Listed, Error> {
        if tables.is_empty() {
            return Ok(Listed {
                output: Output {
                    stdout: EMPTY_LISTING.to_vec(),
                    ..Output::empty()
                },
                with_elements: self.set_elements,
            });
        }
        let commands: Vec<[&str; 4]> = tables
            .iter()
            .map(|(family, name)| ["list", "table", family.as_str(), name.as_str()])
            .collect();
        let commands: Vec<&[&str]> = commands.iter().map(|c| &c[..]).collect();
        match self.list_each(&commands).await {
            Err(err @ Error::Failed { memory: None, .. }) => {
                tracing::warn!(source = "nftables", %err, "a table could not be listed by name; listing the whole ruleset instead");
                self.list_each(&[&["list", "ruleset"][..]]).await
            }
            listed => listed,
        }
    }

    /// `commands` listed the first way of [`Mode::ladder`] that fits
    /// `--nftables.max-memory` and `--nftables.timeout`; after a failure,
    /// collections start at the way that came next for the next
    /// [`FALLBACK_PERIOD`]. Any other failure is the listing's.
    async fn list_each(&self, commands: &[&[&str]]) -> Result<Listed, Error> {
        let ladder = Mode::ladder(self.set_elements);
        let start = match *self.fallback.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((step, until)) if Instant::now() < until => step,
            _ => 0,
        };
        // Both ladders are of constant, non-empty length.
        let mut step = start.min(ladder.len() - 1);
        loop {
            let mode = ladder[step];
            match self.run_each(commands, mode).await {
                Ok(output) => return Ok(Listed::new(output, mode)),
                Err(
                    err @ (Error::Failed {
                        memory: Some(_), ..
                    }
                    | Error::Timeout { .. }),
                ) if step + 1 < ladder.len() => {
                    step += 1;
                    let minutes = self.fallback_period.as_secs() / 60;
                    tracing::warn!(source = "nftables", %err, minutes, "{} for a while, then the JSON listing is tried again", ladder[step].says());
                    *self.fallback.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some((step, Instant::now() + self.fallback_period));
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// `nft FLAGS COMMAND…` for each command, one after the other, their
    /// outputs together; all of them within the output cap.
    async fn run_each(&self, commands: &[&[&str]], mode: Mode) -> Result<Output, Error> {
        let mut whole = Output::empty();
        for command in commands {
            let args = mode.flags().iter().chain(command.iter()).copied();
            let output = self.bounded.with_args(args).run().await?;
            if !whole.append(output, self.bounded.max_output) {
                return Err(self.bounded.too_large());
            }
        }
        Ok(whole)
    }
}

/// The listing command, unless the source is off or, by default, `nft`
/// is not installed.
pub fn command(config: &Config) -> Option<ListCommand> {
    if !super::enabled(
        config.wanted,
        &config.program,
        "nftables",
        "collecting native nftables tables",
    ) {
        return None;
    }
    Some(ListCommand {
        bounded: Bounded {
            program: config.program.clone(),
            args: Vec::new(),
            timeout: config.timeout,
            max_output: config.max_output,
            max_output_flag: MAX_OUTPUT_FLAG,
            max_memory: config.max_memory.map(|bytes| MemoryCap {
                bytes,
                flag: MAX_MEMORY_FLAG,
            }),
        },
        set_elements: config.set_elements,
        fallback: Arc::default(),
        fallback_period: FALLBACK_PERIOD,
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

    fn tables(names: &[(&str, &str)]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|(f, n)| ((*f).to_owned(), (*n).to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn lists_the_index_then_each_table_as_json_and_tersely_without_set_elements() {
        let path = script(r#"echo "args: $*""#);
        let full = command(&config(path.to_path_buf(), Wanted::Named, true)).expect("named");
        assert_eq!(
            full.index().await.expect("runs").stdout,
            b"args: -j -t list chains\nargs: -j -t list sets\n"
        );
        let wanted = tables(&[("inet", "firewalld"), ("ip", "kube-proxy")]);
        let listed = full.list(&wanted).await.expect("runs");
        assert_eq!(
            listed.output.stdout,
            b"args: -j list table inet firewalld\nargs: -j list table ip kube-proxy\n"
        );
        assert!(listed.with_elements);
        let terse = command(&config(path.to_path_buf(), Wanted::Named, false)).expect("named");
        let listed = terse.list(&wanted[..1]).await.expect("runs");
        assert_eq!(
            listed.output.stdout,
            b"args: -j -t list table inet firewalld\n"
        );
        assert!(!listed.with_elements);
        // Nothing to list is an empty listing, no command run.
        let listed = full.list(&[]).await.expect("empty");
        assert_eq!(listed.output.stdout, EMPTY_LISTING);
    }

    #[tokio::test]
    async fn a_table_nft_cannot_name_is_listed_with_the_whole_ruleset() {
        // nft 1.0.6: `list table inet sets` is a syntax error.
        let path = script(
            r#"case "$*" in *"table inet sets"*) echo 'Error: syntax error, unexpected sets' >&2; exit 1 ;; *) echo "args: $*" ;; esac"#,
        );
        let cmd = command(&config(path.to_path_buf(), Wanted::Named, true)).expect("named");
        let listed = cmd
            .list(&tables(&[("inet", "a"), ("inet", "sets")]))
            .await
            .expect("the ruleset instead");
        assert_eq!(listed.output.stdout, b"args: -j list ruleset\n");
        assert!(listed.with_elements);
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
            cmd.fallback_period = Duration::from_secs(3600);
            let wanted = tables(&[("inet", "big")]);
            for collection in 0..3 {
                let listed = cmd.list(&wanted).await.expect("the terse listing");
                assert_eq!(listed.output.stdout, b"terse: -j -t list table inet big\n");
                assert!(!listed.with_elements, "collection {collection}");
            }
            assert_eq!(
                full_tries(),
                1,
                "only the first collection tried the full listing"
            );
            // Once the while is over, the full listing is tried again.
            *cmd.fallback.lock().expect("lock") = Some((1, Instant::now()));
            let listed = cmd.list(&wanted).await.expect("terse again");
            assert!(!listed.with_elements);
            assert_eq!(full_tries(), 2);
        }
        // Any other failure is the listing's failure.
        let failing = script("echo 'Operation not permitted' >&2; exit 1");
        let mut bounded = config(failing.to_path_buf(), Wanted::Named, true);
        bounded.max_memory = Some(16 << 20);
        let err = command(&bounded)
            .expect("named")
            .list(&tables(&[("inet", "t")]))
            .await;
        assert!(err.is_err_and(|e| e.to_string().contains("Operation not permitted")));
    }

    #[tokio::test]
    async fn a_ruleset_whose_json_does_not_fit_is_listed_as_text() {
        // As nft 1.0.6 with 100k rules: every JSON listing runs past the
        // bound, the text fits; with a big set as well, only the terse text.
        let many_rules = script(
            r#"case "$*" in *-j*) exec dd if=/dev/zero of=/dev/null bs=64M count=1 ;; *) echo "text: $*" ;; esac"#,
        );
        let and_a_big_set = script(
            r#"case "$*" in *-t*list*) case "$*" in *-j*) ;; *) echo "text: $*"; exit 0 ;; esac ;; esac
exec dd if=/dev/zero of=/dev/null bs=64M count=1"#,
        );
        let wanted = tables(&[("ip", "kube-proxy")]);
        for (path, elements, want) in [
            (&many_rules, true, &b"text: list table ip kube-proxy\n"[..]),
            (&many_rules, false, b"text: -t list table ip kube-proxy\n"),
            (&and_a_big_set, true, b"text: -t list table ip kube-proxy\n"),
        ] {
            let mut bounded = config(path.to_path_buf(), Wanted::Named, elements);
            bounded.max_memory = Some(16 << 20);
            let cmd = command(&bounded).expect("named");
            for collection in 0..2 {
                let listed = cmd.list(&wanted).await.expect("the text");
                assert_eq!(listed.output.stdout, want, "collection {collection}");
                assert_eq!(
                    listed.with_elements,
                    want.starts_with(b"text: list"),
                    "terse text has no elements"
                );
            }
            // The second collection started where the first ended.
            let (step, _) = cmd.fallback.lock().expect("lock").expect("a fallback");
            assert_eq!(
                Mode::ladder(elements)[step].flags(),
                if want.starts_with(b"text: list") {
                    &[][..]
                } else {
                    &["-t"]
                }
            );
        }
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
        // Each table's listing within the cap, not all of them together.
        let path = script("head -c 600 /dev/zero");
        let cmd = command(&config(path.to_path_buf(), Wanted::Named, true)).expect("named");
        let err = cmd
            .list(&tables(&[("inet", "a"), ("inet", "b")]))
            .await
            .expect_err("1200 bytes > 1024");
        assert!(err.to_string().contains("(--nftables.max-output)"), "{err}");
    }
}
