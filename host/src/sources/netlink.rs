//! The kernel's nf_tables over netlink, for iptables-nft's counters: the
//! ruleset's generation id (`NFT_MSG_GETGEN`), a family's chains
//! (`NFT_MSG_GETCHAIN` dump) and one chain's rules (`NFT_MSG_GETRULE` dump
//! with `NFTA_RULE_TABLE` and `NFTA_RULE_CHAIN`: one dump of a whole
//! family costs quadratic time in the kernel, per-chain dumps linear).
//!
//! This module sends the requests and frames the replies: it checks each
//! message's header (`NLMSG_ERROR`, `NLMSG_DONE`, `NLM_F_DUMP_INTR`, the
//! generation in `nfgenmsg.res_id`) and hands the messages on as the
//! kernel wrote them; the component reads what is inside. The one
//! attribute read here is the generation id itself (a big-endian u32),
//! which decides whether the component is asked at all.
//!
//! Blocking: run it on the blocking pool. The socket is `netlink-sys`'s
//! (the rust-netlink project's plain socket, no runtime): this needs
//! nothing of its message types, which do not cover nf_tables rules.

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

/// `NFNL_SUBSYS_NFTABLES`, the high byte of a message type.
const SUBSYS_NFTABLES: u16 = 10;
const MSG_GETCHAIN: u16 = 4;
const MSG_GETRULE: u16 = 7;
const MSG_NEWGEN: u16 = 15;
const MSG_GETGEN: u16 = 16;
const NFTA_GEN_ID: u16 = 1;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_DUMP_INTR: u16 = 0x10;
/// `nlmsghdr` (16 bytes) and `nfgenmsg` (4).
const HEADERS: usize = 20;
/// Receive buffer: at least 32 KiB, or the kernel re-walks a chain's rules
/// for every small batch (measured: per-chain dumps are linear from there).
const RECEIVE: usize = 64 * 1024;
/// How long one reply may keep the socket waiting: the kernel answers in
/// microseconds, so a reply this late is none, and the collection saves
/// rather than hang a thread.
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A family as nf_tables numbers it (`NFPROTO_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NfFamily {
    Ipv4,
    Ipv6,
}

impl NfFamily {
    fn number(self) -> u8 {
        match self {
            NfFamily::Ipv4 => 2,
            NfFamily::Ipv6 => 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("the kernel refused {request}: {error}")]
    Kernel {
        request: &'static str,
        error: std::io::Error,
    },
    #[error("{0}")]
    Malformed(String),
    #[error("the ruleset changed during the read: a dump was interrupted")]
    Interrupted,
    #[error("the ruleset changed during the read: generation {before}, then {after}")]
    Changed { before: u32, after: u32 },
}

/// A socket to nf_tables, with the sequence numbers of its requests.
pub struct Kernel {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl Kernel {
    pub fn open() -> Result<Self, Error> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        socket.set_rx_buf_sz(RECEIVE)?;
        let timeout = nix::sys::time::TimeVal::new(
            i64::try_from(REPLY_TIMEOUT.as_secs()).unwrap_or(i64::MAX),
            0,
        );
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReceiveTimeout, &timeout)
            .map_err(std::io::Error::from)?;
        Ok(Self {
            socket,
            sequence: 0,
            buffer: Vec::with_capacity(RECEIVE),
        })
    }

    /// The ruleset's generation id: it changes with every commit, and
    /// never with traffic or reads.
    pub fn generation(&mut self) -> Result<u32, Error> {
        let mut generation = None;
        self.exchange(
            "NFT_MSG_GETGEN",
            MSG_GETGEN,
            NLM_F_REQUEST | NLM_F_ACK,
            0,
            &[],
            |message| {
                if kind(message) == (SUBSYS_NFTABLES << 8 | MSG_NEWGEN) {
                    generation = generation_id(&message[HEADERS..]);
                }
                Ok(())
            },
        )?;
        generation.ok_or_else(|| Error::Malformed("NFT_MSG_NEWGEN without NFTA_GEN_ID".into()))
    }

    /// A family's chains (`NFT_MSG_NEWCHAIN` messages, as written), all
    /// of the generation `generation`.
    pub fn chains(&mut self, family: NfFamily, generation: u32) -> Result<Vec<u8>, Error> {
        self.dump("NFT_MSG_GETCHAIN", MSG_GETCHAIN, family, &[], generation)
    }

    /// One chain's rules in order (`NFT_MSG_NEWRULE` messages), all of
    /// the generation `generation`; appended to `out`.
    pub fn rules(
        &mut self,
        family: NfFamily,
        table: &str,
        chain: &str,
        generation: u32,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let attributes = [
            attribute(NFTA_RULE_TABLE, table),
            attribute(NFTA_RULE_CHAIN, chain),
        ]
        .concat();
        let messages = self.dump(
            "NFT_MSG_GETRULE",
            MSG_GETRULE,
            family,
            &attributes,
            generation,
        )?;
        out.extend_from_slice(&messages);
        Ok(())
    }

    fn dump(
        &mut self,
        request: &'static str,
        message: u16,
        family: NfFamily,
        attributes: &[u8],
        generation: u32,
    ) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let expected = (generation & 0xffff) as u16;
        self.exchange(
            request,
            message,
            NLM_F_REQUEST | NLM_F_DUMP,
            family.number(),
            attributes,
            |message| {
                // A dump the kernel had to restart, or one of another
                // generation: its counters may be of two rulesets.
                let res_id = u16::from_be_bytes([message[18], message[19]]);
                if message_flags(message) & NLM_F_DUMP_INTR != 0 {
                    return Err(Error::Interrupted);
                }
                if res_id != expected {
                    return Err(Error::Changed {
                        before: generation & 0xffff,
                        after: u32::from(res_id),
                    });
                }
                out.extend_from_slice(message);
                out.resize(align(out.len()), 0);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Sends one request and hands each reply message (not `NLMSG_DONE`,
    /// not an acknowledgement) to `each`, until the reply ends.
    fn exchange(
        &mut self,
        request: &'static str,
        message: u16,
        flags: u16,
        family: u8,
        attributes: &[u8],
        mut each: impl FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let len = u32::try_from(HEADERS + attributes.len())
            .map_err(|_| Error::Malformed("request too long".into()))?;
        let mut packet = Vec::with_capacity(HEADERS + attributes.len());
        packet.extend_from_slice(&len.to_ne_bytes());
        packet.extend_from_slice(&(SUBSYS_NFTABLES << 8 | message).to_ne_bytes());
        packet.extend_from_slice(&flags.to_ne_bytes());
        packet.extend_from_slice(&sequence.to_ne_bytes());
        packet.extend_from_slice(&0u32.to_ne_bytes());
        // nfgenmsg: family, NFNETLINK_V0, res_id 0.
        packet.extend_from_slice(&[family, 0, 0, 0]);
        packet.extend_from_slice(attributes);
        self.socket.send(&packet, 0)?;
        let dumping = flags & NLM_F_DUMP == NLM_F_DUMP;
        loop {
            self.buffer.clear();
            self.buffer.reserve(RECEIVE);
            let received = self.socket.recv(&mut self.buffer, 0)?;
            let mut rest = &self.buffer[..received.min(self.buffer.len())];
            while !rest.is_empty() {
                let len = rest
                    .get(..4)
                    .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize)
                    .filter(|len| *len >= 16 && *len <= rest.len())
                    .ok_or_else(|| {
                        Error::Malformed(format!("{request}: a reply message cut short"))
                    })?;
                let message = &rest[..len];
                rest = rest.get(align(len)..).unwrap_or(&[]);
                if u32::from_ne_bytes([message[8], message[9], message[10], message[11]])
                    != sequence
                {
                    // A late reply to an earlier request: not ours.
                    continue;
                }
                match kind(message) {
                    NLMSG_DONE if message_flags(message) & NLM_F_DUMP_INTR != 0 => {
                        return Err(Error::Interrupted);
                    }
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let code = message
                            .get(16..20)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .ok_or_else(|| {
                                Error::Malformed(format!("{request}: an error message cut short"))
                            })?;
                        if code == 0 {
                            // The acknowledgement: the request is done.
                            return Ok(());
                        }
                        return Err(Error::Kernel {
                            request,
                            error: std::io::Error::from_raw_os_error(-code),
                        });
                    }
                    _ if message.len() < HEADERS => {
                        return Err(Error::Malformed(format!(
                            "{request}: a message without nfgenmsg"
                        )));
                    }
                    _ => each(message)?,
                }
            }
            if !dumping && received == 0 {
                return Err(Error::Malformed(format!("{request}: no reply")));
            }
        }
    }
}

fn kind(message: &[u8]) -> u16 {
    u16::from_ne_bytes([message[4], message[5]])
}

fn message_flags(message: &[u8]) -> u16 {
    u16::from_ne_bytes([message[6], message[7]])
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// `NFTA_GEN_ID` among a `NFT_MSG_NEWGEN`'s attributes.
fn generation_id(mut attributes: &[u8]) -> Option<u32> {
    while attributes.len() >= 8 {
        let len = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
        let kind = u16::from_ne_bytes([attributes[2], attributes[3]]) & 0x3fff;
        if len < 4 || len > attributes.len() {
            return None;
        }
        if kind == NFTA_GEN_ID && len == 8 {
            return Some(u32::from_be_bytes([
                attributes[4],
                attributes[5],
                attributes[6],
                attributes[7],
            ]));
        }
        attributes = attributes.get(align(len)..)?;
    }
    None
}

/// A NUL-terminated string attribute, padded.
fn attribute(kind: u16, value: &str) -> Vec<u8> {
    let len = 4 + value.len() + 1;
    let mut out = Vec::with_capacity(align(len));
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value.as_bytes());
    out.push(0);
    out.resize(align(len), 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_the_generation_is_read_big_endian() {
        assert_eq!(attribute(1, "nat"), vec![8, 0, 1, 0, b'n', b'a', b't', 0]);
        assert_eq!(attribute(2, "INPUT").len(), 12);
        let newgen = [
            [8u8, 0, 1, 0].as_slice(),
            &0x0001_0203u32.to_be_bytes(),
            &[8, 0, 2, 0, 0, 0, 0, 9],
        ]
        .concat();
        assert_eq!(generation_id(&newgen), Some(0x0001_0203));
        assert_eq!(generation_id(&newgen[..6]), None);
    }
}
