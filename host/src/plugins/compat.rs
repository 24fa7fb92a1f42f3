//! The plugin-api compatibility rule: same major, and while on 0.y the same minor. Checked
//! with `semver` before abi_stable's layout check so a mismatch is one readable line.

use semver::Version;

/// Whether a plugin built against `plugin` can be loaded by a host built against `host`.
pub fn is_compatible(host: &Version, plugin: &Version) -> bool {
    if host.major != plugin.major {
        return false;
    }
    if host.major == 0 {
        return host.minor == plugin.minor;
    }
    // 1.x and later: the plugin may be older (additive changes only), never newer.
    plugin.minor <= host.minor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn zero_versions_need_the_same_minor() {
        assert!(is_compatible(&v("0.1.0"), &v("0.1.7")));
        assert!(is_compatible(&v("0.1.7"), &v("0.1.0")));
        assert!(!is_compatible(&v("0.2.0"), &v("0.1.0")));
        assert!(!is_compatible(&v("0.1.0"), &v("0.2.0")));
    }

    #[test]
    fn later_majors_accept_older_minors() {
        assert!(is_compatible(&v("1.3.0"), &v("1.1.0")));
        assert!(!is_compatible(&v("1.1.0"), &v("1.3.0")));
        assert!(!is_compatible(&v("2.0.0"), &v("1.9.0")));
    }
}
