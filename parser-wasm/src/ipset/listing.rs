//! `ipset list` output (its plain format, terse with `-t` or with
//! members) → sets with their header values and, when listed, members.
//!
//! The format, as ipset 7.x prints it for each set:
//!
//! ```text
//! Name: ipc
//! Type: hash:ip
//! Revision: 6
//! Header: family inet hashsize 1024 maxelem 65536 counters comment
//! Size in memory: 434
//! References: 3
//! Number of entries: 2
//! Members:
//! 10.1.2.3 packets 0 bytes 0
//! 127.0.0.1 packets 16 bytes 1220 comment "loop back"
//! ```
//!
//! with a blank line between sets, and no `Members:` section with `-t`.
//! Kernels that speak set protocol 6 send no entry count: `Number of
//! entries:` is missing there, and the count is taken from the members
//! when they are listed. Header lines this reader does not know (a later
//! ipset's) are skipped and counted as findings; a line of no known shape,
//! or a set without a line the series need, rejects the listing: it is
//! cut short or not ipset's, and no number of it can be trusted.

use std::borrow::Cow;
use std::fmt;

/// A set as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set<'a> {
    pub name: &'a str,
    /// 1-based line of its `Name:`.
    pub line: u32,
    /// `Type:`, as printed (`hash:ip`).
    pub kind: &'a str,
    /// `Header:`, as printed.
    pub header: Header<'a>,
    /// `Size in memory:`, in bytes.
    pub memory_bytes: u64,
    /// `References:`: rules and list:sets using the set.
    pub references: u64,
    /// `Number of entries:`, when the kernel sends it (set protocol 7).
    pub entries: Option<u64>,
    /// The members, when the listing has a `Members:` section.
    pub members: Option<Vec<Member<'a>>>,
}

/// What the series need of a `Header:` line; its words in any order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header<'a> {
    /// `maxelem N` (hash types).
    pub maxelem: Option<u64>,
    /// `size N` (list:set).
    pub size: Option<u64>,
    /// `range A-B` (bitmap types), as printed.
    pub range: Option<&'a str>,
    /// `netmask N` (bitmap:ip).
    pub netmask: Option<u8>,
    /// The `counters` flag: members carry packets and bytes.
    pub counters: bool,
}

/// A member line: the element and its counters, if it has any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// The first word (`127.0.0.1`, `10.0.0.0/8`, `127.0.0.1,tcp:80`).
    pub element: &'a str,
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
}

/// A listing read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing<'a> {
    pub sets: Vec<Set<'a>>,
    /// Header lines of a kind this reader does not know, skipped.
    pub findings: Vec<Finding>,
}

/// A line skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub line: u32,
    pub message: String,
}

/// What kind of problem rejected a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A set without a line its series need: the output is cut short.
    Truncated,
    /// A line of no shape ipset prints.
    BadLine,
    /// A value that is not the number it must be.
    BadNumber,
    /// The same set twice: its series would be exported twice.
    DuplicateSet,
}

/// Why a listing was rejected: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingError {
    pub kind: ErrorKind,
    /// 1-based line.
    pub line: u32,
    pub message: String,
}

impl fmt::Display for ListingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ListingError {}

/// The text of a listing: ipset prints set names and comments as given,
/// so bytes that are not UTF-8 become U+FFFD (in labels too), as in the
/// iptables source.
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Where the reader is in the current set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Between sets: only `Name:` or a blank line may come.
    Between,
    /// In a set's header lines.
    Header,
    /// After `Members:`, until a blank line.
    Members,
}

/// Reads a listing; `text` as [`text`] gives it.
pub fn parse(text: &str) -> Result<Listing<'_>, ListingError> {
    let mut listing = Listing::default();
    let mut current: Option<Partial<'_>> = None;
    let mut place = Place::Between;
    let mut number = 0u32;
    for line in text.split('\n') {
        number = number.saturating_add(1);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if place == Place::Members {
                place = Place::Between;
            }
            continue;
        }
        if place == Place::Members {
            if let Some(set) = current.as_mut() {
                set.members.push(member(line, number)?);
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(error(
                ErrorKind::BadLine,
                number,
                format!("expected `Name:`, a header line or `Members:`, found {line:?}"),
            ));
        };
        let value = value.strip_prefix(' ').unwrap_or(value);
        if key == "Name" {
            if let Some(done) = current.take() {
                finish(done, &mut listing)?;
            }
            current = Some(Partial::new(value, number));
            place = Place::Header;
            continue;
        }
        let Some(set) = current.as_mut().filter(|_| place == Place::Header) else {
            return Err(error(
                ErrorKind::BadLine,
                number,
                format!("expected `Name:` to start a set, found {line:?}"),
            ));
        };
        match key {
            "Type" => set.kind = Some(value),
            "Revision" => {}
            "Header" => set.header = Some(header(value, number)?),
            "Size in memory" => set.memory_bytes = Some(count(value, key, number)?),
            "References" => set.references = Some(count(value, key, number)?),
            "Number of entries" => set.entries = Some(count(value, key, number)?),
            "Members" if value.is_empty() => {
                set.listed_members = true;
                place = Place::Members;
            }
            _ => listing.findings.push(Finding {
                line: number,
                message: format!("set `{}`: header line `{key}:` skipped", set.name),
            }),
        }
    }
    if let Some(done) = current.take() {
        finish(done, &mut listing)?;
    }
    Ok(listing)
}

/// A set whose lines are still being read.
struct Partial<'a> {
    name: &'a str,
    line: u32,
    kind: Option<&'a str>,
    header: Option<Header<'a>>,
    memory_bytes: Option<u64>,
    references: Option<u64>,
    entries: Option<u64>,
    listed_members: bool,
    members: Vec<Member<'a>>,
}

impl<'a> Partial<'a> {
    fn new(name: &'a str, line: u32) -> Self {
        Self {
            name,
            line,
            kind: None,
            header: None,
            memory_bytes: None,
            references: None,
            entries: None,
            listed_members: false,
            members: Vec::new(),
        }
    }
}

/// A set complete with the lines its series need, added to the listing.
fn finish<'a>(set: Partial<'a>, listing: &mut Listing<'a>) -> Result<(), ListingError> {
    let missing = |what: &str| {
        error(
            ErrorKind::Truncated,
            set.line,
            format!(
                "set `{}` has no `{what}:` line: the listing is cut short or not ipset's",
                set.name
            ),
        )
    };
    if listing.sets.iter().any(|s| s.name == set.name) {
        return Err(error(
            ErrorKind::DuplicateSet,
            set.line,
            format!("set `{}` is listed twice", set.name),
        ));
    }
    let done = Set {
        name: set.name,
        line: set.line,
        kind: set.kind.ok_or_else(|| missing("Type"))?,
        header: set.header.ok_or_else(|| missing("Header"))?,
        memory_bytes: set.memory_bytes.ok_or_else(|| missing("Size in memory"))?,
        references: set.references.ok_or_else(|| missing("References"))?,
        entries: set.entries,
        members: set.listed_members.then_some(set.members),
    };
    listing.sets.push(done);
    Ok(())
}

/// The words of a `Header:` line the series need; the others (family,
/// hashsize, timeout, bucketsize, initval, comment, skbinfo, forceadd, …)
/// are left.
fn header(value: &str, line: u32) -> Result<Header<'_>, ListingError> {
    let mut header = Header::default();
    let mut words = value.split_ascii_whitespace();
    while let Some(word) = words.next() {
        let mut argument = |key: &str| {
            words.next().ok_or_else(|| {
                error(
                    ErrorKind::BadLine,
                    line,
                    format!("`Header:` ends after `{key}`, without its value"),
                )
            })
        };
        match word {
            "maxelem" => header.maxelem = Some(count(argument(word)?, "maxelem", line)?),
            "size" => header.size = Some(count(argument(word)?, "size", line)?),
            "range" => header.range = Some(argument(word)?),
            "netmask" => {
                let value = argument(word)?;
                header.netmask = Some(
                    value
                        .parse::<u8>()
                        .ok()
                        .filter(|bits| (1..=32).contains(bits))
                        .ok_or_else(|| {
                            error(
                                ErrorKind::BadNumber,
                                line,
                                format!("netmask {value:?} is not 1 to 32"),
                            )
                        })?,
                );
            }
            "counters" => header.counters = true,
            _ => {}
        }
    }
    Ok(header)
}

/// A member line: its first word, and `packets N bytes N` when it has
/// counters. A comment's words are its own (`comment "packets 5"` is
/// no counter).
fn member(line: &str, number: u32) -> Result<Member<'_>, ListingError> {
    let mut words = line.split_ascii_whitespace();
    let element = words.next().unwrap_or_default();
    let mut member = Member {
        element,
        packets: None,
        bytes: None,
    };
    while let Some(word) = words.next() {
        match word {
            "packets" | "bytes" => {
                let value = words.next().unwrap_or_default();
                let value = Some(count(value, word, number)?);
                if word == "packets" {
                    member.packets = value;
                } else {
                    member.bytes = value;
                }
            }
            "comment" => {
                // `comment "…"`: skip to the word that closes the quote.
                let mut quoted = words.next().unwrap_or_default();
                if quoted.starts_with('"') {
                    quoted = &quoted[1..];
                    while !quoted.ends_with('"') {
                        match words.next() {
                            Some(word) => quoted = word,
                            None => break,
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(member)
}

/// An unsigned 64-bit decimal number, or an error naming `what`.
fn count(value: &str, what: &str, line: u32) -> Result<u64, ListingError> {
    let value = value.trim();
    if !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = value.parse()
    {
        return Ok(n);
    }
    Err(error(
        ErrorKind::BadNumber,
        line,
        format!("`{what}` is {value:?}, not an unsigned 64-bit number"),
    ))
}

fn error(kind: ErrorKind, line: u32, message: String) -> ListingError {
    ListingError {
        kind,
        line,
        message,
    }
}

impl Set<'_> {
    /// The most entries the set can hold: `maxelem` for hash types, `size`
    /// for list:set, the range's size for bitmap types (with bitmap:ip's
    /// netmask, its blocks); `None` for a type not known here or a header
    /// without the value.
    pub fn max_entries(&self) -> Option<u64> {
        let (class, _) = self.kind.split_once(':')?;
        match class {
            "hash" => self.header.maxelem,
            "list" => self.header.size,
            "bitmap" => {
                let range = self.header.range?;
                if self.kind == "bitmap:port" {
                    let (low, high) = range.split_once('-')?;
                    let (low, high) = (low.parse::<u64>().ok()?, high.parse::<u64>().ok()?);
                    return high.checked_sub(low).map(|d| d + 1);
                }
                let (low, high) = ipv4_range(range)?;
                let bits = u32::from(self.header.netmask.unwrap_or(32));
                let width = high.checked_sub(low)?;
                Some(u64::from(width >> (32 - bits)) + 1)
            }
            _ => None,
        }
    }
}

/// `A-B` or `A/N` of IPv4 addresses, as numbers.
fn ipv4_range(range: &str) -> Option<(u32, u32)> {
    if let Some((low, high)) = range.split_once('-') {
        let low: std::net::Ipv4Addr = low.parse().ok()?;
        let high: std::net::Ipv4Addr = high.parse().ok()?;
        return Some((u32::from(low), u32::from(high)));
    }
    let (address, bits) = range.split_once('/')?;
    let address = u32::from(address.parse::<std::net::Ipv4Addr>().ok()?);
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let hosts = u32::MAX.checked_shr(bits).unwrap_or(0);
    Some((address & !hosts, address | hosts))
}
