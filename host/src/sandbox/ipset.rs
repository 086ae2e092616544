//! ipset's listings parsed and rendered in an instance of their own, under
//! the same bounds as a family: which sets need their members listed, and
//! the `ipset_*` series.

use super::wit::ipset;
use super::{Failure, Filter, ParseFailure, Sandbox};
use bytes::Bytes;
use exposition::Format;

/// What ipset printed: `ipset list -t`, and the sets listed with their
/// members (`ipset list NAME`).
pub struct IpsetListing {
    pub headers: Bytes,
    /// (set, its own listing), for the sets `ipset_member_listings` named
    /// that could be listed.
    pub members: Vec<(String, Bytes)>,
    /// When given, every sample carries it (ms since the Unix epoch).
    pub timestamp_ms: Option<i64>,
}

/// Which ipset series to export (`--ipset.*`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpsetSettings {
    /// Matched against whole set names.
    pub sets: Filter,
    /// Whether members' counters become series.
    pub element_counters: bool,
    /// Most element series.
    pub max_element_series: Option<u32>,
}

/// Sizes of a listing that parsed.
pub type IpsetStats = ipset::Stats;

/// How a listing fared.
pub type IpsetReport = super::WholeReport<IpsetStats>;

fn settings_to_wit(settings: &IpsetSettings, format: Format) -> ipset::Settings<'_> {
    ipset::Settings {
        format: match format {
            Format::Text => ipset::Format::Text,
            Format::OpenMetrics => ipset::Format::OpenMetrics,
        },
        sets: ipset::Filter {
            include: settings.sets.include.as_deref(),
            exclude: settings.sets.exclude.as_deref(),
        },
        element_counters: settings.element_counters,
        max_element_series: settings.max_element_series,
    }
}

fn failure_from_wit(err: ipset::ListingError) -> Failure {
    Failure::Rejected(ParseFailure {
        line: err.line,
        message: err.message,
    })
}

impl Sandbox {
    /// The sets whose members must be listed (see the WIT's
    /// `member-listings`), read in a fresh instance. Blocking.
    pub fn ipset_member_listings(
        &self,
        headers: &[u8],
        settings: &IpsetSettings,
    ) -> Result<Vec<String>, Failure> {
        let (_slot, mut instance) = self.whole_output_instance().map_err(Failure::Sandbox)?;
        instance
            .call(|store, parser| {
                parser.ipset().call_member_listings(
                    store,
                    headers,
                    settings_to_wit(settings, Format::Text),
                )
            })
            .map_err(Failure::Sandbox)?
            .map_err(failure_from_wit)
    }

    /// Parses and renders ipset's listings in a fresh instance. Blocking.
    pub fn render_ipset(
        &self,
        listing: &IpsetListing,
        settings: &IpsetSettings,
        format: Format,
    ) -> IpsetReport {
        IpsetReport::timed(|| self.render_sets(listing, settings, format))
    }

    fn render_sets(
        &self,
        listing: &IpsetListing,
        settings: &IpsetSettings,
        format: Format,
    ) -> Result<(String, IpsetStats), Failure> {
        let (_slot, mut instance) = self.whole_output_instance().map_err(Failure::Sandbox)?;
        let members: Vec<ipset::MemberListing<'_>> = listing
            .members
            .iter()
            .map(|(set, output)| ipset::MemberListing {
                set: set.as_str(),
                output,
            })
            .collect();
        let rendered = instance
            .call(|store, parser| {
                let wit_listing = ipset::Listing {
                    headers: &listing.headers,
                    members: &members,
                    timestamp_ms: listing.timestamp_ms,
                };
                parser
                    .ipset()
                    .call_render(store, wit_listing, settings_to_wit(settings, format))
            })
            .map_err(Failure::Sandbox)?
            .map_err(failure_from_wit)?;
        self.check_output(&rendered.exposition)
            .map_err(Failure::Sandbox)?;
        Ok((rendered.exposition, rendered.stats))
    }
}
