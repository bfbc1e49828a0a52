//! IP address management math.
//!
//! # Design
//!
//! Addresses are stored as **integer offsets inside their subnet** (offset 0 is
//! the network address). Offsets fit in a `u64` because IPv4 subnets have at
//! most 2^32 addresses and IPv6 subnets must be /64 or longer.
//!
//! The free addresses of a subnet's allocation pools are kept as a set of
//! disjoint **free ranges** `[start, end]` (table `ip_free_ranges`, primary
//! key `(subnet_id, start)`). Every operation touches at most three ranges,
//! found through that index, so its cost does not depend on the size of the
//! subnet or on how full it is:
//!
//! * allocate any address: take the range with the lowest `start`, hand out
//!   `start`, shrink the range (or delete it when it had one address);
//! * allocate a requested address `x`: find the range with the greatest
//!   `start <= x`; if it contains `x`, split it in two around `x`;
//! * release `x`: insert `[x, x]`, merging with the range that ends at `x-1`
//!   and the one that starts at `x+1`.
//!
//! A fresh /8 is one range, a fresh IPv6 /64 is one range; the last free
//! address of a full /16 is one range of one address. Nothing is enumerated.
//!
//! SQLite and PostgreSQL integers are signed 64-bit, so offsets are stored
//! through [`key`], which flips the sign bit: the mapping is monotonic, so
//! ordering and neighbour lookups work unchanged for the whole `u64` range.
//!
//! # Many writers (PostgreSQL)
//!
//! With several servers (or connections) allocating in one subnet at once,
//! each allocation locks the free range it takes from and passes over the
//! ranges others hold (`FOR UPDATE SKIP LOCKED`), so it takes the lowest
//! free address *no other allocation is taking right now*; alone, it is the
//! lowest free address as above. For that to spread the writers, a subnet
//! needs about as many free ranges as writers: taking from a range longer
//! than [`CHUNK`] splits its first chunk off ([`take_first_chunked`]), so
//! a fresh subnet grows chunks as fast as writers ask for them, and a
//! release merges with its neighbours only up to [`CHUNK`] addresses
//! ([`merge_capped`]) and only with those nobody holds. Ranges are still
//! disjoint, but two of them may touch; nothing depends on them being
//! maximal. SQLite has one writer and keeps maximal ranges.
//!
//! Public IP pools add one rule: a released address goes **behind** every other
//! free address. A pool hands out never-used addresses from its own free
//! ranges first, then released addresses from a FIFO queue ordered by a
//! per-pool sequence number. See `rules::public_ip_release_order`.

use crate::error::Error;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest IPv6 prefix accepted is /126; the shortest is /64 so that offsets
/// fit in 64 bits.
pub const IPV6_MIN_PREFIX: u8 = 64;
/// Longest IPv4 prefix accepted: /30 leaves two usable hosts (one may be the gateway).
pub const IPV4_MAX_PREFIX: u8 = 30;
/// Longest IPv6 prefix accepted.
pub const IPV6_MAX_PREFIX: u8 = 126;

/// An inclusive range of offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub fn new(start: u64, end: u64) -> Option<Range> {
        (start <= end).then_some(Range { start, end })
    }
    pub fn contains(&self, x: u64) -> bool {
        self.start <= x && x <= self.end
    }
    /// Number of addresses (as u128: a /64 holds 2^64).
    pub fn len(&self) -> u128 {
        u128::from(self.end.saturating_sub(self.start)) + 1
    }
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Take the lowest offset; returns it and what is left of the range.
    /// A range ending at `u64::MAX` (the last address of an IPv6 /64) is
    /// empty after its last address is taken: nothing wraps around to 0.
    pub fn take_first(self) -> (u64, Option<Range>) {
        let rest = self
            .start
            .checked_add(1)
            .and_then(|next| Range::new(next, self.end));
        (self.start, rest)
    }
    /// Remove `x` from the range; returns the parts below and above it (a
    /// range that does not contain `x` comes back whole, as the part below).
    pub fn carve(self, x: u64) -> (Option<Range>, Option<Range>) {
        if !self.contains(x) {
            return (Some(self), None);
        }
        let below = if x > self.start {
            x.checked_sub(1).and_then(|b| Range::new(self.start, b))
        } else {
            None
        };
        let above = if x < self.end {
            x.checked_add(1).and_then(|a| Range::new(a, self.end))
        } else {
            None
        };
        (below, above)
    }
}

/// Merge a released offset `x` with its free neighbours: `left` must end at
/// `x - 1` and `right` must start at `x + 1` when present.
pub fn merge(left: Option<Range>, x: u64, right: Option<Range>) -> Range {
    Range {
        start: left.map_or(x, |l| l.start),
        end: right.map_or(x, |r| r.end),
    }
}

/// The longest free range a concurrent allocation takes from without
/// splitting it, and the longest a release merges into (see "Many writers").
pub const CHUNK: u64 = 64;

/// Take the lowest offset of `r`, splitting a range longer than `chunk`:
/// returns the offset, the rest of its first chunk (`chunk - 1` offsets at
/// most) and the tail after that chunk.
pub fn take_first_chunked(r: Range, chunk: u64) -> (u64, Option<Range>, Option<Range>) {
    let (offset, rest) = r.take_first();
    let Some(rest) = rest else {
        return (offset, None, None);
    };
    if r.len() <= u128::from(chunk) || chunk < 2 {
        return (offset, Some(rest), None);
    }
    // r is longer than `chunk`, so start + chunk - 1 < end: no overflow.
    let head_end = r.start + (chunk - 1);
    (
        offset,
        Range::new(rest.start, head_end),
        Range::new(head_end + 1, r.end),
    )
}

/// Merge a released offset `x` with the neighbours that keep the result at
/// most `cap` long (the left one first); answers the range and which
/// neighbours went into it.
pub fn merge_capped(
    left: Option<Range>,
    x: u64,
    right: Option<Range>,
    cap: u64,
) -> (Range, bool, bool) {
    let cap = u128::from(cap);
    let use_left = left.is_some_and(|l| l.len() < cap);
    let so_far = 1 + left.filter(|_| use_left).map_or(0, |l| l.len());
    let use_right = right.is_some_and(|r| so_far + r.len() <= cap);
    let merged = merge(left.filter(|_| use_left), x, right.filter(|_| use_right));
    (merged, use_left, use_right)
}

/// Order-preserving map from an offset to a signed 64-bit database integer.
pub fn key(offset: u64) -> i64 {
    (offset ^ (1 << 63)) as i64
}

/// Inverse of [`key`].
pub fn from_key(k: i64) -> u64 {
    (k as u64) ^ (1 << 63)
}

/// A subnet's address space: base address, prefix, offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressSpace {
    net: IpNet,
}

impl AddressSpace {
    /// Accept a CIDR for a subnet or a pool. The host bits must be zero.
    pub fn new(net: IpNet) -> crate::Result<Self> {
        if net.network() != net.addr() {
            return Err(Error::invalid_value(
                "cidr",
                format!("{net} has host bits set; did you mean {}?", net.trunc()),
            ));
        }
        match net {
            IpNet::V4(n) if n.prefix_len() > IPV4_MAX_PREFIX || n.prefix_len() < 1 => {
                Err(Error::invalid_value(
                    "cidr",
                    format!("IPv4 prefix of {net} must be between /1 and /{IPV4_MAX_PREFIX}."),
                ))
            }
            IpNet::V6(n) if n.prefix_len() < IPV6_MIN_PREFIX || n.prefix_len() > IPV6_MAX_PREFIX => {
                Err(Error::invalid_value(
                    "cidr",
                    format!(
                        "IPv6 prefix of {net} must be between /{IPV6_MIN_PREFIX} and /{IPV6_MAX_PREFIX}."
                    ),
                ))
            }
            _ => Ok(AddressSpace { net }),
        }
    }

    pub fn cidr(&self) -> IpNet {
        self.net
    }

    pub fn is_v4(&self) -> bool {
        matches!(self.net, IpNet::V4(_))
    }

    pub fn version(&self) -> u8 {
        if self.is_v4() {
            4
        } else {
            6
        }
    }

    /// The highest offset (the broadcast address for IPv4).
    pub fn last_offset(&self) -> u64 {
        let host_bits = u32::from(
            self.net
                .max_prefix_len()
                .saturating_sub(self.net.prefix_len()),
        );
        match 1u64.checked_shl(host_bits) {
            Some(size) if host_bits < 64 => size - 1,
            _ => u64::MAX,
        }
    }

    /// The offset of `ip`, or None when it is outside the subnet.
    pub fn offset_of(&self, ip: IpAddr) -> Option<u64> {
        if !self.net.contains(&ip) {
            return None;
        }
        let offset = match (self.net, ip) {
            (IpNet::V4(n), IpAddr::V4(a)) => {
                u128::from(u32::from(a).checked_sub(u32::from(n.network()))?)
            }
            (IpNet::V6(n), IpAddr::V6(a)) => u128::from(a).checked_sub(u128::from(n.network()))?,
            _ => return None,
        };
        u64::try_from(offset)
            .ok()
            .filter(|o| *o <= self.last_offset())
    }

    /// The address at `offset`; an offset past `last_offset` is an internal
    /// error (offsets come from the store's free ranges, which never leave
    /// the subnet), never a wrapped-around address.
    pub fn address_at(&self, offset: u64) -> crate::Result<IpAddr> {
        let outside = || {
            Error::internal(format!(
                "offset {offset} is outside {} (last offset {})",
                self.net,
                self.last_offset()
            ))
        };
        if offset > self.last_offset() {
            return Err(outside());
        }
        match self.net {
            IpNet::V4(n) => u32::try_from(offset)
                .ok()
                .and_then(|o| u32::from(n.network()).checked_add(o))
                .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
                .ok_or_else(outside),
            IpNet::V6(n) => u128::from(n.network())
                .checked_add(u128::from(offset))
                .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
                .ok_or_else(outside),
        }
    }

    /// Offsets a host may never have: the network address (offset 0; for IPv6
    /// the subnet-router anycast address) and, for IPv4, the broadcast address.
    pub fn is_reserved(&self, offset: u64) -> bool {
        offset == 0 || (self.is_v4() && offset == self.last_offset())
    }

    /// The usable host range: offset 1 up to the broadcast (excluded) for IPv4,
    /// up to the last address for IPv6.
    pub fn host_range(&self) -> Range {
        let end = if self.is_v4() {
            self.last_offset().saturating_sub(1)
        } else {
            self.last_offset()
        };
        Range {
            start: 1,
            end: end.max(1),
        }
    }

    /// The conventional gateway: the first host address.
    pub fn default_gateway(&self) -> crate::Result<IpAddr> {
        self.address_at(1)
    }

    /// Turn an allocation pool given as two addresses into a range of offsets,
    /// checking that it lies inside the host range.
    pub fn pool_range(&self, start: IpAddr, end: IpAddr) -> crate::Result<Range> {
        let hosts = self.host_range();
        let (Some(s), Some(e)) = (self.offset_of(start), self.offset_of(end)) else {
            return Err(Error::invalid_value(
                "allocation_pools",
                format!("{start}-{end} is not inside {}.", self.net),
            ));
        };
        match Range::new(s, e) {
            Some(r) if hosts.contains(s) && hosts.contains(e) => Ok(r),
            Some(_) => Err(Error::invalid_value(
                "allocation_pools",
                format!(
                    "{start}-{end} includes the network or broadcast address of {}.",
                    self.net
                ),
            )),
            None => Err(Error::invalid_value(
                "allocation_pools",
                format!("{start}-{end} ends before it starts."),
            )),
        }
    }
}

/// Remove one offset (the gateway) from a list of ranges.
pub fn subtract(ranges: &[Range], x: u64) -> Vec<Range> {
    let mut out = Vec::with_capacity(ranges.len() + 1);
    for r in ranges {
        if r.contains(x) {
            let (a, b) = r.carve(x);
            out.extend(a);
            out.extend(b);
        } else {
            out.push(*r);
        }
    }
    out
}

/// Check that ranges do not overlap; returns them sorted.
pub fn disjoint(mut ranges: Vec<Range>) -> crate::Result<Vec<Range>> {
    ranges.sort();
    for w in ranges.windows(2) {
        if w[1].start <= w[0].end {
            return Err(Error::invalid_value(
                "allocation_pools",
                "allocation pools overlap.",
            ));
        }
    }
    Ok(ranges)
}

/// Total number of addresses in a set of ranges.
pub fn total(ranges: &[Range]) -> u128 {
    ranges
        .iter()
        .map(Range::len)
        .fold(0u128, u128::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_first_chunked_splits_only_long_ranges() {
        let r = |s, e| Range::new(s, e);
        assert_eq!(
            take_first_chunked(Range { start: 1, end: 64 }, 64),
            (1, r(2, 64), None)
        );
        assert_eq!(
            take_first_chunked(Range { start: 1, end: 65 }, 64),
            (1, r(2, 64), r(65, 65))
        );
        assert_eq!(
            take_first_chunked(
                Range {
                    start: 10,
                    end: 1000
                },
                64
            ),
            (10, r(11, 73), r(74, 1000))
        );
        assert_eq!(
            take_first_chunked(Range { start: 7, end: 7 }, 64),
            (7, None, None)
        );
        let top = Range {
            start: u64::MAX - 1,
            end: u64::MAX,
        };
        assert_eq!(
            take_first_chunked(top, 64),
            (u64::MAX - 1, r(u64::MAX, u64::MAX), None)
        );
        let whole = Range {
            start: 0,
            end: u64::MAX,
        };
        assert_eq!(
            take_first_chunked(whole, 64),
            (0, r(1, 63), r(64, u64::MAX))
        );
    }

    #[test]
    fn merge_capped_keeps_ranges_at_most_cap_long() {
        let l = Range::new(1, 9);
        let rt = Range::new(11, 20);
        assert_eq!(
            merge_capped(l, 10, rt, 64),
            (Range { start: 1, end: 20 }, true, true)
        );
        assert_eq!(
            merge_capped(l, 10, rt, 15),
            (Range { start: 1, end: 10 }, true, false)
        );
        assert_eq!(
            merge_capped(l, 10, rt, 9),
            (Range { start: 10, end: 10 }, false, false)
        );
        assert_eq!(
            merge_capped(Range::new(1, 70), 71, Range::new(72, 80), 64),
            (Range { start: 71, end: 80 }, false, true)
        );
        assert_eq!(
            merge_capped(None, 5, None, 64),
            (Range { start: 5, end: 5 }, false, false)
        );
    }

    fn space(s: &str) -> AddressSpace {
        AddressSpace::new(s.parse().unwrap()).unwrap()
    }

    #[test]
    fn key_preserves_order_over_the_whole_u64_range() {
        let xs = [
            0u64,
            1,
            1 << 32,
            (1 << 63) - 1,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ];
        for w in xs.windows(2) {
            assert!(key(w[0]) < key(w[1]));
            assert_eq!(from_key(key(w[0])), w[0]);
        }
    }

    #[test]
    fn offsets_round_trip_for_v4_and_v6() {
        let s = space("10.1.0.0/16");
        assert_eq!(s.last_offset(), 65535);
        assert_eq!(s.offset_of("10.1.1.2".parse().unwrap()), Some(258));
        assert_eq!(s.address_at(258).unwrap().to_string(), "10.1.1.2");
        assert_eq!(s.offset_of("10.2.0.1".parse().unwrap()), None);
        assert_eq!(
            s.host_range(),
            Range {
                start: 1,
                end: 65534
            }
        );
        let s6 = space("fd00:1::/64");
        assert_eq!(s6.last_offset(), u64::MAX);
        let ip: IpAddr = "fd00:1::ffff:ffff:ffff:ffff".parse().unwrap();
        assert_eq!(s6.offset_of(ip), Some(u64::MAX));
        assert_eq!(s6.address_at(u64::MAX).unwrap(), ip);
        assert!(s6.is_reserved(0));
        assert!(!s6.is_reserved(u64::MAX));
    }

    #[test]
    fn bad_cidrs_are_refused() {
        assert!(AddressSpace::new("10.0.0.1/24".parse().unwrap()).is_err());
        assert!(AddressSpace::new("10.0.0.0/31".parse().unwrap()).is_err());
        assert!(AddressSpace::new("fd00::/48".parse().unwrap()).is_err());
    }

    #[test]
    fn take_carve_merge() {
        let r = Range::new(1, 10).unwrap();
        assert_eq!(r.take_first(), (1, Range::new(2, 10)));
        assert_eq!(Range::new(5, 5).unwrap().take_first(), (5, None));
        assert_eq!(r.carve(1), (None, Range::new(2, 10)));
        assert_eq!(r.carve(10), (Range::new(1, 9), None));
        assert_eq!(r.carve(4), (Range::new(1, 3), Range::new(5, 10)));
        assert_eq!(
            merge(Range::new(1, 3), 4, Range::new(5, 10)),
            Range::new(1, 10).unwrap()
        );
        assert_eq!(merge(None, 4, None), Range::new(4, 4).unwrap());
    }

    #[test]
    fn pools_and_gateway_subtraction() {
        let s = space("192.168.0.0/24");
        let pool = s.host_range();
        assert_eq!(pool, Range { start: 1, end: 254 });
        let pools = subtract(&[pool], 1);
        assert_eq!(pools, vec![Range { start: 2, end: 254 }]);
        assert_eq!(total(&pools), 253);
        assert!(s
            .pool_range(
                "192.168.0.0".parse().unwrap(),
                "192.168.0.10".parse().unwrap()
            )
            .is_err());
        assert!(disjoint(vec![Range { start: 1, end: 5 }, Range { start: 5, end: 6 }]).is_err());
    }
}

/// Property tests at both ends of every address space: pools that start at
/// the first host and end at the last address (the last address of an IPv6
/// /64 is offset `u64::MAX`), allocated to exhaustion through the same
/// free-range operations the stores run.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// The free ranges of one subnet, as the stores keep them (start -> end).
    #[derive(Default)]
    struct Free(BTreeMap<u64, u64>);

    impl Free {
        fn new(ranges: &[Range]) -> Self {
            Free(ranges.iter().map(|r| (r.start, r.end)).collect())
        }
        /// `ip_take_next`: the lowest free offset.
        fn take_next(&mut self) -> Option<u64> {
            let (&s, &e) = self.0.iter().next()?;
            self.0.remove(&s);
            let (x, rest) = Range { start: s, end: e }.take_first();
            if let Some(r) = rest {
                self.0.insert(r.start, r.end);
            }
            Some(x)
        }
        /// `ip_take`: a chosen offset, when free.
        fn take(&mut self, x: u64) -> bool {
            let Some((&s, &e)) = self.0.range(..=x).next_back() else {
                return false;
            };
            let r = Range { start: s, end: e };
            if !r.contains(x) {
                return false;
            }
            self.0.remove(&s);
            let (a, b) = r.carve(x);
            for p in a.into_iter().chain(b) {
                self.0.insert(p.start, p.end);
            }
            true
        }
        /// `ip_release`: merge with the neighbours.
        fn release(&mut self, x: u64) {
            let left = x
                .checked_sub(1)
                .and_then(|b| self.0.iter().find(|(_, &e)| e == b).map(|(&s, &e)| (s, e)))
                .map(|(s, e)| Range { start: s, end: e });
            let right = x
                .checked_add(1)
                .and_then(|a| self.0.get(&a).map(|&e| Range { start: a, end: e }));
            for r in left.iter().chain(right.iter()) {
                self.0.remove(&r.start);
            }
            let m = merge(left, x, right);
            self.0.insert(m.start, m.end);
        }
        fn len(&self) -> u128 {
            self.0
                .iter()
                .map(|(&s, &e)| Range { start: s, end: e }.len())
                .sum()
        }
    }

    /// Prefixes at the edges of what a subnet may be, by IP version.
    fn edge_space() -> impl Strategy<Value = AddressSpace> {
        prop_oneof![
            Just("0.0.0.0/1"),
            Just("128.0.0.0/1"),
            Just("10.0.0.0/30"),
            Just("255.255.255.252/30"),
            Just("192.168.0.0/24"),
            Just("fd00::/64"),
            Just("ffff:ffff:ffff:ffff::/64"),
            Just("fd00::/126"),
            Just("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126"),
            Just("fd00::ff00/120"),
        ]
        .prop_map(|c| AddressSpace::new(c.parse().unwrap()).unwrap())
    }

    proptest! {
        /// Prefixes outside the accepted range are refused with an error,
        /// never a panic: /0, /31, /32 for IPv4, /0, /63, /127, /128 for IPv6.
        #[test]
        fn edge_prefixes_are_refused_cleanly(
            v4 in any::<u32>(),
            v6 in any::<u128>(),
            p4 in prop_oneof![Just(0u8), Just(31u8), Just(32u8)],
            p6 in prop_oneof![Just(0u8), Just(63u8), Just(127u8), Just(128u8)],
        ) {
            let n4 = ipnet::Ipv4Net::new(v4.into(), p4).unwrap().trunc();
            let n6 = ipnet::Ipv6Net::new(v6.into(), p6).unwrap().trunc();
            prop_assert!(AddressSpace::new(IpNet::V4(n4)).is_err());
            prop_assert!(AddressSpace::new(IpNet::V6(n6)).is_err());
        }

        /// Offsets and addresses round-trip at both ends of a space, and an
        /// offset past the end is an error rather than a wrapped address.
        #[test]
        fn offsets_round_trip_at_both_ends(space in edge_space(), k in 0u64..4) {
            let last = space.last_offset();
            for o in [k.min(last), last - k.min(last)] {
                let ip = space.address_at(o).unwrap();
                prop_assert!(space.cidr().contains(&ip));
                prop_assert_eq!(space.offset_of(ip), Some(o));
            }
            if let Some(past) = last.checked_add(1 + k) {
                prop_assert!(space.address_at(past).is_err());
            }
        }

        /// A pool that ends at the last address of its space (and one that
        /// starts at the first host) is handed out exactly once, inside the
        /// pool, never the network address nor the gateway, then reports
        /// exhaustion; released addresses come back without wrapping.
        #[test]
        fn pools_at_the_edges_are_exhausted_cleanly(
            space in edge_space(),
            size in 1u64..40,
            at_end in any::<bool>(),
            release in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let hosts = space.host_range();
            let size = size.min(hosts.end - hosts.start + 1);
            let pool = if at_end {
                Range::new(hosts.end - (size - 1), hosts.end).unwrap()
            } else {
                Range::new(hosts.start, hosts.start + (size - 1)).unwrap()
            };
            let gateway = 1u64;
            let ranges = subtract(&[pool], gateway);
            let mut free = Free::new(&ranges);
            prop_assert_eq!(free.len(), total(&ranges));
            let mut got = Vec::new();
            while let Some(x) = free.take_next() {
                prop_assert!(got.len() as u128 <= total(&ranges), "more addresses than the pool holds");
                prop_assert!(pool.contains(x));
                prop_assert!(x != 0 && x != gateway);
                prop_assert!(!space.is_reserved(x));
                let ip = space.address_at(x).unwrap();
                prop_assert!(space.cidr().contains(&ip));
                got.push(x);
            }
            prop_assert_eq!(got.len() as u128, total(&ranges));
            let unique: BTreeSet<u64> = got.iter().copied().collect();
            prop_assert_eq!(unique.len(), got.len());
            prop_assert_eq!(free.take_next(), None);
            // Release some, take them back by value and by "next".
            let mut back = BTreeSet::new();
            for i in &release {
                if got.is_empty() { break; }
                let x = got[i.index(got.len())];
                if back.insert(x) {
                    free.release(x);
                }
            }
            prop_assert_eq!(free.len(), back.len() as u128);
            if let Some(&first) = back.iter().next() {
                prop_assert!(free.take(first));
                prop_assert!(!free.take(first));
                back.remove(&first);
            }
            while let Some(x) = free.take_next() {
                prop_assert!(back.remove(&x), "{} was not released", x);
            }
            prop_assert!(back.is_empty());
        }
    }

    #[test]
    fn range_operations_at_u64_max_and_zero() {
        let top = Range::new(u64::MAX, u64::MAX).unwrap();
        assert_eq!(top.take_first(), (u64::MAX, None));
        assert_eq!(top.len(), 1);
        let all = Range::new(0, u64::MAX).unwrap();
        assert_eq!(all.len(), 1u128 << 64);
        assert_eq!(all.carve(0), (None, Range::new(1, u64::MAX)));
        assert_eq!(all.carve(u64::MAX), (Range::new(0, u64::MAX - 1), None));
        assert_eq!(merge(None, u64::MAX, None), top);
        assert_eq!(total(&[all, all, all]), 3u128 << 64);
        let s6 = AddressSpace::new("fd00:1::/64".parse().unwrap()).unwrap();
        let pool = s6
            .pool_range(
                "fd00:1::ffff:ffff:ffff:fffe".parse().unwrap(),
                "fd00:1::ffff:ffff:ffff:ffff".parse().unwrap(),
            )
            .unwrap();
        let (a, rest) = pool.take_first();
        let (b, rest) = rest.unwrap().take_first();
        assert_eq!((a, b, rest), (u64::MAX - 1, u64::MAX, None));
    }
}
