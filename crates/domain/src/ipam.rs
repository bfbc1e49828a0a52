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
        (self.end - self.start) as u128 + 1
    }
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Take the lowest offset; returns it and what is left of the range.
    pub fn take_first(self) -> (u64, Option<Range>) {
        (self.start, Range::new(self.start + 1, self.end))
    }
    /// Remove `x` from the range; returns the parts below and above it.
    pub fn carve(self, x: u64) -> (Option<Range>, Option<Range>) {
        debug_assert!(self.contains(x));
        let below = if x > self.start {
            Range::new(self.start, x - 1)
        } else {
            None
        };
        let above = if x < self.end {
            Range::new(x + 1, self.end)
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
        let host_bits = self.net.max_prefix_len() - self.net.prefix_len();
        if host_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << host_bits) - 1
        }
    }

    /// The offset of `ip`, or None when it is outside the subnet.
    pub fn offset_of(&self, ip: IpAddr) -> Option<u64> {
        if !self.net.contains(&ip) {
            return None;
        }
        match (self.net, ip) {
            (IpNet::V4(n), IpAddr::V4(a)) => Some((u32::from(a) - u32::from(n.network())) as u64),
            (IpNet::V6(n), IpAddr::V6(a)) => Some((u128::from(a) - u128::from(n.network())) as u64),
            _ => None,
        }
    }

    /// The address at `offset` (which must be at most `last_offset`).
    pub fn address_at(&self, offset: u64) -> IpAddr {
        match self.net {
            IpNet::V4(n) => IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) + offset as u32)),
            IpNet::V6(n) => IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) + offset as u128)),
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
            self.last_offset() - 1
        } else {
            self.last_offset()
        };
        Range { start: 1, end }
    }

    /// The conventional gateway: the first host address.
    pub fn default_gateway(&self) -> IpAddr {
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
    ranges.iter().map(Range::len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(s.address_at(258).to_string(), "10.1.1.2");
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
        assert_eq!(s6.address_at(u64::MAX), ip);
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
