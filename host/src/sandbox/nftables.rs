//! A native nftables listing (`nft -j list ruleset`) parsed and rendered
//! in an instance of its own, under the same bounds as a family: its
//! memory cap, the collection's deadline, the output limit.

use super::wit::{nftables, options_to_wit};
use super::{Failure, Options, ParseFailure, Sandbox};
use bytes::Bytes;

/// One listing going into the component.
pub struct Listing {
    pub output: Bytes,
    /// When given, every sample carries it (ms since the Unix epoch).
    pub timestamp_ms: Option<i64>,
}

/// A table as nft names it: `ip filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableId {
    pub family: String,
    pub name: String,
}

/// How to render a listing.
#[derive(Debug, Clone, Copy)]
pub struct NftOptions<'a> {
    /// The format and the cardinality controls (`--nftables.*`).
    pub options: Options<'a>,
    pub set_elements: bool,
    /// Tables the iptables source shows: no series here.
    pub left_to_iptables: &'a [TableId],
}

/// Sizes of a listing that parsed.
pub type NftStats = nftables::Stats;

/// How a listing fared.
pub type NftReport = super::WholeReport<NftStats>;

impl Sandbox {
    /// Parses and renders one listing in a fresh instance. Blocking: call
    /// it off the async runtime's worker threads.
    pub fn render_nftables(&self, listing: &Listing, options: NftOptions<'_>) -> NftReport {
        NftReport::timed(|| self.render_listing(listing, options))
    }

    fn render_listing(
        &self,
        listing: &Listing,
        options: NftOptions<'_>,
    ) -> Result<(String, NftStats), Failure> {
        let (_slot, mut instance) = self.whole_output_instance().map_err(Failure::Sandbox)?;
        let tables: Vec<nftables::TableId> = options
            .left_to_iptables
            .iter()
            .map(|t| nftables::TableId {
                family: t.family.clone(),
                name: t.name.clone(),
            })
            .collect();
        let tables: Vec<&nftables::TableId> = tables.iter().collect();
        let rendered = instance
            .call(|store, parser| {
                let wit_listing = nftables::Listing {
                    output: &listing.output,
                    timestamp_ms: listing.timestamp_ms,
                };
                let settings = nftables::Settings {
                    selection: options_to_wit(&options.options),
                    set_elements: options.set_elements,
                    left_to_iptables: &tables,
                };
                parser.nftables().call_render(store, wit_listing, settings)
            })
            .map_err(Failure::Sandbox)?;
        let rendered = rendered.map_err(|err| {
            Failure::Rejected(ParseFailure {
                line: err.line,
                message: format!("column {}: {}", err.column, err.message),
            })
        })?;
        self.check_output(&rendered.exposition)
            .map_err(Failure::Sandbox)?;
        Ok((rendered.exposition, rendered.stats))
    }
}

impl Sandbox {
    /// The tables a family's save output shows (its `*TABLE` lines), read
    /// in a fresh instance. Blocking.
    pub fn tables_shown(&self, save_output: &[u8]) -> Result<Vec<String>, super::Error> {
        let (_slot, mut instance) = self.whole_output_instance()?;
        instance.call(|store, parser| parser.metrics().call_tables_shown(store, save_output))
    }

    /// The tables an nft listing names (`list chains` and `list sets`),
    /// read in a fresh instance. Blocking.
    pub fn nft_tables(&self, listing: &[u8]) -> Result<Vec<TableId>, Failure> {
        let (_slot, mut instance) = self.whole_output_instance().map_err(Failure::Sandbox)?;
        let tables = instance
            .call(|store, parser| parser.nftables().call_tables(store, listing))
            .map_err(Failure::Sandbox)?;
        let tables = tables.map_err(|err| {
            Failure::Rejected(ParseFailure {
                line: err.line,
                message: format!("column {}: {}", err.column, err.message),
            })
        })?;
        Ok(tables
            .into_iter()
            .map(|t| TableId {
                family: t.family,
                name: t.name,
            })
            .collect())
    }
}
