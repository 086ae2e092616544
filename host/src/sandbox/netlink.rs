//! iptables-nft's counters from the kernel's netlink replies, read and put
//! into a kept save output by the component (WIT interface `netlink`),
//! each call in a fresh instance under the sandbox's bounds.

use super::wit::netlink;
use super::{Error, Sandbox};

/// A chain of the kernel's, to dump the rules of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainId {
    pub table: String,
    pub chain: String,
}

/// Why the component could not do it.
#[derive(Debug, thiserror::Error)]
pub enum RefreshFailure {
    /// The sandbox failed (a trap, a bound).
    #[error(transparent)]
    Sandbox(#[from] Error),
    /// The replies or the kept text were refused: the component's reason.
    #[error("{0}")]
    Refused(String),
}

impl Sandbox {
    /// The chains of a chain dump's replies. Blocking.
    pub fn netlink_chains(&self, replies: &[u8]) -> Result<Vec<ChainId>, RefreshFailure> {
        let (_slot, mut instance) = self.whole_output_instance()?;
        let chains = instance.call(|store, parser| parser.netlink().call_chains(store, replies))?;
        let chains = chains.map_err(refused)?;
        Ok(chains
            .into_iter()
            .map(|c| ChainId {
                table: c.table,
                chain: c.chain,
            })
            .collect())
    }

    /// `kept` with the kernel's counters. Blocking.
    pub fn netlink_refresh(
        &self,
        kept: &[u8],
        chain_replies: &[u8],
        rule_replies: &[u8],
    ) -> Result<Vec<u8>, RefreshFailure> {
        let (_slot, mut instance) = self.whole_output_instance()?;
        let text = instance.call(|store, parser| {
            parser
                .netlink()
                .call_refresh(store, kept, chain_replies, rule_replies)
        })?;
        let text = text.map_err(refused)?;
        // The text is a save output, no longer than the kept one by more
        // than its counters' digits: the output limit bounds it as an
        // exposition.
        if text.len() > self.limits.max_exposition_bytes {
            return Err(Error::OutputTooLarge(self.limits.max_exposition_bytes).into());
        }
        Ok(text)
    }
}

fn refused(err: netlink::RefreshError) -> RefreshFailure {
    let kind = match err.kind {
        netlink::RefreshErrorKind::MalformedReply => "malformed netlink reply",
        netlink::RefreshErrorKind::Mismatch => "the kept text and the kernel differ",
        netlink::RefreshErrorKind::Counters => "a rule without exactly one counter",
        netlink::RefreshErrorKind::KeptText => "the kept text cannot be refreshed",
    };
    RefreshFailure::Refused(format!("{kind}: {}", err.message))
}
