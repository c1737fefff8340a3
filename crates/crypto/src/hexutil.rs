//! Hexadecimal helpers with errors that name the field.

use crate::Error;

/// Decodes `s` (either case) into `out`, which fixes the expected length.
pub(crate) fn decode_exact(what: &'static str, s: &str, out: &mut [u8]) -> Result<(), Error> {
    if s.len() % 2 != 0 {
        return Err(Error::Hex {
            what,
            reason: "odd number of hex digits",
        });
    }
    if s.len() != out.len() * 2 {
        return Err(Error::Length {
            what,
            expected: out.len(),
            got: s.len() / 2,
        });
    }
    hex::decode_to_slice(s, out).map_err(|_| Error::Hex {
        what,
        reason: "not a hex digit",
    })
}

/// Decodes `s` (either case) into a vector of any length.
pub(crate) fn decode_vec(what: &'static str, s: &str) -> Result<Vec<u8>, Error> {
    if s.len() % 2 != 0 {
        return Err(Error::Hex {
            what,
            reason: "odd number of hex digits",
        });
    }
    hex::decode(s).map_err(|_| Error::Hex {
        what,
        reason: "not a hex digit",
    })
}
