//! The identity a device gets in its SNPN and how a certificate carries it: an NAI
//! (RFC 7542, e.g. `sensor-17@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org`, the
//! SNPN NAI form of TS 23.003 §28.7.2) as the SAN rfc822Name, or a URI as the SAN URI; the
//! subject CN repeats it when it fits in 64 characters (else it holds the NAI's username).
//! EAP-TLS servers match either.

use serde::{Deserialize, Serialize};

use crate::PkiError;

/// An SNPN identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Identity {
    /// `username@realm`.
    Nai(String),
    /// An absolute URI (`urn:…`, `https://…`).
    Uri(String),
}

fn nai_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '.' | '-'
                | '_'
                | '+'
                | '~'
                | '!'
                | '$'
                | '\''
                | '*'
                | '='
                | '%'
                | '#'
                | '&'
                | '^'
                | '`'
                | '{'
                | '}'
                | '|'
                | '/'
                | '?'
        )
}

fn uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | ':'
                | '/'
                | '?'
                | '#'
                | '['
                | ']'
                | '@'
                | '!'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ';'
                | '='
                | '%'
        )
}

impl Identity {
    /// Parses and checks an identity: a URI if it is a URN or has an authority (`urn:…`,
    /// `https://…`), otherwise an NAI with exactly one `@` and a realm of labels. Commas, spaces and
    /// control characters are never allowed (they would change the meaning of a SAN).
    pub fn parse(s: &str) -> Result<Self, PkiError> {
        if s.is_empty() || s.len() > 253 {
            return Err(PkiError::invalid("an identity is 1 to 253 characters"));
        }
        let is_uri = s.starts_with("urn:") || s.contains("://");
        if is_uri {
            if !s.chars().all(uri_char) || s.ends_with(':') {
                return Err(PkiError::invalid(
                    "the URI has characters a SAN URI cannot hold",
                ));
            }
            return Ok(Identity::Uri(s.to_owned()));
        }
        let (user, realm) = s
            .split_once('@')
            .ok_or_else(|| PkiError::invalid("an NAI is username@realm"))?;
        let realm_ok = !realm.is_empty()
            && realm.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if user.is_empty() || !user.chars().all(nai_char) || !realm_ok {
            return Err(PkiError::invalid("the NAI has a bad username or realm"));
        }
        Ok(Identity::Nai(s.to_owned()))
    }

    /// The subject CN that carries the identity in certificates and requests: the whole
    /// identity if it fits the 64 characters X.520 allows a CN, else an NAI's username
    /// (the subjectAltName always holds the whole identity).
    pub fn common_name(&self) -> Option<&str> {
        let s = self.as_str();
        if s.len() <= 64 {
            return Some(s);
        }
        match self {
            Identity::Nai(n) => n.split('@').next().filter(|u| u.len() <= 64),
            Identity::Uri(_) => None,
        }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        match self {
            Identity::Nai(s) | Identity::Uri(s) => s,
        }
    }

    /// The default identity of a device in an SNPN (TS 23.003 §28.7.2 NAI form):
    /// `<username>@nai.5gc.nid<NID>.mnc<MNC>.mcc<MCC>.3gppnetwork.org`.
    pub fn snpn_nai(username: &str, mcc: &str, mnc: &str, nid: &str) -> Result<Self, PkiError> {
        let mnc3 = format!("{mnc:0>3}");
        Identity::parse(&format!(
            "{username}@nai.5gc.nid{}.mnc{mnc3}.mcc{mcc}.3gppnetwork.org",
            nid.to_ascii_lowercase()
        ))
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Identity {
    type Error = PkiError;
    fn try_from(s: String) -> Result<Self, PkiError> {
        Identity::parse(&s)
    }
}

impl From<Identity> for String {
    fn from(i: Identity) -> String {
        i.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let n = Identity::snpn_nai("sensor-1", "001", "01", "000000000AB").unwrap();
        assert_eq!(
            n.as_str(),
            "sensor-1@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org"
        );
        assert!(matches!(n, Identity::Nai(_)));
        assert!(matches!(
            Identity::parse("urn:dev:ops:acme-sensor-1").unwrap(),
            Identity::Uri(_)
        ));
        assert!(matches!(
            Identity::parse("https://acme.example/d/1").unwrap(),
            Identity::Uri(_)
        ));
        for bad in [
            "", "a@b,c", "a b@c", "a@", "@c", "a@-c", "a@c..d", "urn:x,y", "x@y\n", "noat",
        ] {
            assert!(Identity::parse(bad).is_err(), "{bad:?}");
        }
    }
}
