//! The address a request comes from. Behind the reverse proxy that serves
//! HTTPS every request arrives from the proxy's address, so per-address
//! limits (logins, public reports) would count every user as one: the
//! instance trusts the forwarding headers of the proxies it is told about
//! (`trusted_proxies`), and only of them.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The proxies whose `Forwarded` / `X-Forwarded-For` headers are believed:
/// addresses or networks (`10.0.0.5`, `10.0.0.0/8`, `::1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads a list separated by commas or spaces; an entry that is neither an
    /// address nor a network is refused with its text.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(net).collect::<Result<_, _>>().map(TrustedProxies)
    }

    /// Whether no proxy is trusted (the TCP peer is the client).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the TCP peer, unless it is a trusted proxy; then
    /// the forwarding chain is read from the right (the hop nearest to us)
    /// and the first address that is not a trusted proxy is the client. An
    /// unreadable hop stops the walk at the last trusted one (a client may
    /// write anything at the left of the chain; only proxies append to it).
    /// `Forwarded` (RFC 7239) wins over `X-Forwarded-For` when both are sent.
    pub fn client(&self, peer: IpAddr, forwarded: &[&str], x_forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = if !forwarded.is_empty() {
            forwarded
                .iter()
                .flat_map(|h| h.split(','))
                .filter_map(|element| element.split(';').find_map(|pair| pair.trim().strip_prefix("for=").or_else(|| pair.trim().strip_prefix("For="))))
                .collect()
        } else {
            x_forwarded_for.iter().flat_map(|h| h.split(',')).collect()
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = address(hop) else { return client };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

fn net(entry: &str) -> Result<IpNet, String> {
    entry.parse::<IpNet>().or_else(|_| entry.parse::<IpAddr>().map(IpNet::from)).map_err(|_| format!("{entry:?} is neither an address nor a network"))
}

/// An address as a hop writes it: `203.0.113.5`, `203.0.113.5:4711`,
/// `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.rsplit_once(':').and_then(|(ip, port)| port.parse::<u16>().ok().and(ip.parse().ok()))
}

impl Serialize for TrustedProxies {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        entries.iter().map(|e| net(e)).collect::<Result<_, _>>().map(TrustedProxies).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.5"), &[], &["203.0.113.7"]), ip("10.0.0.5"), "no proxy trusted: headers ignored");
        let proxies = TrustedProxies::parse("10.0.0.0/8, ::1").unwrap();
        assert_eq!(proxies.client(ip("198.51.100.2"), &[], &["203.0.113.7"]), ip("198.51.100.2"), "an untrusted peer cannot claim another address");
        assert_eq!(proxies.client(ip("10.0.0.5"), &[], &["203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(proxies.client(ip("::1"), &[], &["203.0.113.7:4711"]), ip("203.0.113.7"));
    }

    #[test]
    fn a_forged_left_part_of_the_chain_is_not_believed() {
        let proxies = TrustedProxies::parse("10.0.0.5 10.0.0.6").unwrap();
        // The client wrote "1.2.3.4" itself; the proxy appended the real address.
        assert_eq!(proxies.client(ip("10.0.0.5"), &[], &["1.2.3.4, 203.0.113.7"]), ip("203.0.113.7"));
        // Two proxies in a row.
        assert_eq!(proxies.client(ip("10.0.0.5"), &[], &["1.2.3.4, 203.0.113.7, 10.0.0.6"]), ip("203.0.113.7"));
        // Garbage next to us: stop at the last trusted hop.
        assert_eq!(proxies.client(ip("10.0.0.5"), &[], &["203.0.113.7, nonsense"]), ip("10.0.0.5"));
        // Several header lines are one list.
        assert_eq!(proxies.client(ip("10.0.0.5"), &[], &["1.2.3.4", "203.0.113.8"]), ip("203.0.113.8"));
    }

    #[test]
    fn forwarded_is_read_and_wins_over_x_forwarded_for() {
        let proxies = TrustedProxies::parse("10.0.0.5").unwrap();
        let fwd = [r#"for=1.2.3.4, for="[2001:db8::9]:4711";proto=https"#];
        assert_eq!(proxies.client(ip("10.0.0.5"), &fwd, &["203.0.113.7"]), ip("2001:db8::9"));
        assert_eq!(proxies.client(ip("10.0.0.5"), &["for=unknown"], &[]), ip("10.0.0.5"));
    }

    #[test]
    fn a_wrong_entry_is_refused_with_its_text() {
        assert!(TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err().contains("proxy.local"));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }
}
