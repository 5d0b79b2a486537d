//! The SSRF guard of webhook endpoints (docs/webhooks.md): an endpoint URL must be https,
//! carry no credentials, and every address its host resolves to must be public: not
//! loopback, private, link-local, shared (CGNAT), unique-local, multicast, unspecified or
//! reserved. `allow_private` (`CIRCLES_WEBHOOK_ALLOW_PRIVATE=1`, for tests and closed
//! networks) lifts both the https and the address rules. The same address rule is applied
//! again at delivery, to the addresses the host resolves to then (DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// Whether `ip` is a public unicast address a webhook may be sent to.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), RFC 6598
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)) && first == 0) // IPv4-compatible
}

/// What a URL is refused for, as a message for the admin.
pub type Refusal = String;

/// Checks the form of an endpoint URL (scheme, credentials, host) and returns it parsed,
/// with its host if that is a name to resolve (`None`: an address literal, already checked).
pub fn check_form(url: &str, allow_private: bool) -> Result<(Url, Option<String>), Refusal> {
    if url.len() > 2000 {
        return Err("the URL is longer than 2000 characters".into());
    }
    let parsed = Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err("webhook URLs must be https".into()),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("the URL may not carry credentials".into());
    }
    if parsed.fragment().is_some() {
        return Err("the URL may not have a fragment".into());
    }
    match parsed.host() {
        None => Err("the URL has no host".into()),
        Some(url::Host::Ipv4(ip)) => check_addresses(&[IpAddr::V4(ip)], allow_private).map(|_| (parsed, None)),
        Some(url::Host::Ipv6(ip)) => check_addresses(&[IpAddr::V6(ip)], allow_private).map(|_| (parsed, None)),
        Some(url::Host::Domain(name)) => {
            let name = name.to_owned();
            Ok((parsed, Some(name)))
        }
    }
}

/// Refuses a host whose addresses are not all public (unless `allow_private`).
pub fn check_addresses(addresses: &[IpAddr], allow_private: bool) -> Result<(), Refusal> {
    if addresses.is_empty() {
        return Err("the host does not resolve to any address".into());
    }
    match addresses.iter().find(|ip| !allow_private && !is_public(**ip)) {
        Some(ip) => {
            Err(format!("the host resolves to {ip}, a loopback, private or link-local address: webhooks go to public addresses only"))
        }
        None => Ok(()),
    }
}

/// Resolves `host` (port `port`) with the system resolver.
pub async fn resolve(host: &str, port: u16) -> Result<Vec<IpAddr>, Refusal> {
    let addrs = tokio::net::lookup_host((host, port)).await.map_err(|e| format!("the host does not resolve: {e}"))?;
    Ok(addrs.map(|a| a.ip()).collect())
}

/// The whole registration check: form, then the addresses the host resolves to now.
pub async fn check(url: &str, allow_private: bool) -> Result<Url, Refusal> {
    let (parsed, host) = check_form(url, allow_private)?;
    if let Some(host) = host {
        let port = parsed.port_or_known_default().unwrap_or(443);
        check_addresses(&resolve(&host, port).await?, allow_private)?;
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_table() {
        let cases = [
            ("127.0.0.1", false),
            ("127.8.9.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false), // cloud metadata
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("255.255.255.255", false),
            ("224.0.0.1", false),
            ("::1", false),
            ("::", false),
            ("fe80::1", false),
            ("fd00::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("172.32.0.1", true),
            ("93.184.216.34", true),
            ("2606:4700::1111", true),
            ("::ffff:93.184.216.34", true),
        ];
        for (ip, public) in cases {
            let parsed: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert_eq!(is_public(parsed), public, "{ip}");
        }
    }

    #[test]
    fn form_table() {
        // (url, allow_private) -> refused?
        let cases = [
            ("https://hooks.example.org/circles", false, false),
            ("http://hooks.example.org/circles", false, true),
            ("ftp://hooks.example.org/", false, true),
            ("https://user:pw@hooks.example.org/", false, true),
            ("https://127.0.0.1/hook", false, true),
            ("https://[::1]/hook", false, true),
            ("https://10.0.0.5/hook", false, true),
            ("https://169.254.169.254/latest", false, true),
            ("https://2130706433/hook", false, true), // 127.0.0.1 as a number
            ("https://0x7f.1/hook", false, true),
            ("not a url", false, true),
            ("http://127.0.0.1:9000/hook", true, false),
            ("https://93.184.216.34/hook", false, false),
        ];
        for (url, allow, refused) in cases {
            assert_eq!(check_form(url, allow).is_err(), refused, "{url} (allow_private {allow}): {:?}", check_form(url, allow));
        }
    }

    #[tokio::test]
    async fn names_that_resolve_to_loopback_are_refused() {
        assert!(check("https://localhost/hook", false).await.is_err());
        assert!(check("http://localhost:1/hook", true).await.is_ok());
    }
}
