//! Sequence numbers: SQN = SEQ ‖ IND and their freshness per TS 33.102 Annex C.
//!
//! The USIM keeps an array of the highest SEQ accepted per IND value (Annex C.2.2) and
//! checks the wrap-around limit Δ (C.2.1) and, optionally, the age limit L (C.2.2). The home
//! environment generates SQNs with a global SEQ and a cycling IND (Annex C.3) and
//! resynchronises from SQN_MS carried in AUTS (§6.3.5).

use core::fmt;

use crate::Error;

/// Number of bits of a SQN (TS 33.102 §6.3.2).
pub const SQN_BITS: u32 = 48;
const SQN_MASK: u64 = (1 << SQN_BITS) - 1;

/// A 48-bit sequence number (TS 33.102 §6.3.2).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sqn(u64);

impl Sqn {
    /// Zero.
    pub const ZERO: Sqn = Sqn(0);

    /// From an integer; fails above 2^48 - 1.
    pub fn new(v: u64) -> Result<Self, Error> {
        if v > SQN_MASK {
            return Err(Error::invalid("SQN", "must fit in 48 bits"));
        }
        Ok(Self(v))
    }

    /// From the 6-octet big-endian encoding.
    pub fn from_bytes(b: &[u8; 6]) -> Self {
        let mut x = [0u8; 8];
        x[2..].copy_from_slice(b);
        Self(u64::from_be_bytes(x))
    }

    /// Parses 12 hexadecimal digits.
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let mut b = [0u8; 6];
        crate::hexutil::decode_exact("SQN", s, &mut b)?;
        Ok(Self::from_bytes(&b))
    }

    /// The 6-octet big-endian encoding.
    pub fn to_bytes(self) -> [u8; 6] {
        self.0.to_be_bytes()[2..].try_into().expect("6 octets")
    }

    /// The value as an integer.
    pub fn value(self) -> u64 {
        self.0
    }

    /// Builds SQN = SEQ ‖ IND with an IND of `ind_bits` bits (Annex C.1.1).
    pub fn from_parts(seq: u64, ind: u32, ind_bits: u32) -> Result<Self, Error> {
        if ind_bits >= SQN_BITS || u64::from(ind) >= (1u64 << ind_bits) {
            return Err(Error::invalid("IND", "out of range for its bit length"));
        }
        Self::new((seq << ind_bits) | u64::from(ind))
            .map_err(|_| Error::invalid("SEQ", "too large for 48 bits with this IND length"))
    }

    /// SEQ, the upper 48 - `ind_bits` bits.
    pub fn seq(self, ind_bits: u32) -> u64 {
        self.0 >> ind_bits
    }

    /// IND, the lower `ind_bits` bits.
    pub fn ind(self, ind_bits: u32) -> u32 {
        (self.0 & ((1u64 << ind_bits) - 1)) as u32
    }

    /// SQN ⊕ AK as sent in AUTN (TS 33.102 §6.3.2).
    pub fn xor_ak(self, ak: &[u8; 6]) -> [u8; 6] {
        let mut s = self.to_bytes();
        for (a, b) in s.iter_mut().zip(ak) {
            *a ^= b;
        }
        s
    }
}

impl fmt::Debug for Sqn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sqn({:012x})", self.0)
    }
}

impl fmt::Display for Sqn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012x}", self.0)
    }
}

/// Parameters of the Annex C scheme, shared by USIM and home environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqnConfig {
    /// Length of IND in bits; the array has a = 2^ind_bits entries (C.1.1, C.2.2).
    pub ind_bits: u32,
    /// Δ: largest accepted jump of SEQ over the highest SEQ accepted so far (C.2.1).
    pub delta: u64,
    /// L: largest accepted age of SEQ below the highest SEQ accepted so far (C.2.2);
    /// `None` leaves the optional age check off.
    pub age_limit: Option<u64>,
}

impl Default for SqnConfig {
    /// IND of 5 bits (a = 32), Δ = 2^28 and L = 2^5: the values of the non-time-based
    /// profile of Annex C.3.2 that USIMs and cores (osmo-hlr, hostapd, UERANSIM) use.
    fn default() -> Self {
        Self {
            ind_bits: 5,
            delta: 1 << 28,
            age_limit: Some(1 << 5),
        }
    }
}

/// Why a USIM refused a SQN (TS 33.102 Annex C.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SqnRejection {
    /// SEQ ≤ SEQ_MS(IND): replayed or out of order for this IND slot.
    #[error("SEQ is not greater than the one last accepted for this IND")]
    NotFresh,
    /// SEQ − SEQ_MS > Δ: would wrap the counter too fast.
    #[error("SEQ jumps more than delta above the highest accepted SEQ")]
    TooFarAhead,
    /// SEQ_MS − SEQ ≥ L: too old.
    #[error("SEQ is older than the age limit L")]
    TooOld,
}

/// The USIM's record of accepted sequence numbers (TS 33.102 Annex C.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqnArray {
    config: SqnConfig,
    seq_ms: Vec<u64>,
}

impl SqnArray {
    /// A fresh array of 2^ind_bits zeros.
    pub fn new(config: SqnConfig) -> Self {
        Self {
            seq_ms: vec![0; 1usize << config.ind_bits],
            config,
        }
    }

    /// Restores an array from stored SEQ_MS values (one per IND).
    pub fn from_entries(config: SqnConfig, seq_ms: Vec<u64>) -> Result<Self, Error> {
        if seq_ms.len() != 1usize << config.ind_bits {
            return Err(Error::invalid("SQN array", "needs 2^ind_bits entries"));
        }
        Ok(Self { config, seq_ms })
    }

    /// The stored SEQ_MS values, indexed by IND.
    pub fn entries(&self) -> &[u64] {
        &self.seq_ms
    }

    /// The scheme parameters.
    pub fn config(&self) -> SqnConfig {
        self.config
    }

    /// Highest SEQ accepted in any slot.
    pub fn highest_seq(&self) -> u64 {
        self.seq_ms.iter().copied().max().unwrap_or(0)
    }

    /// SQN_MS for AUTS: the highest accepted SEQ with IND = 0 (TS 33.102 Annex C.2.2), so
    /// that any SQN the home environment generates above it is fresh for every slot.
    pub fn sqn_ms(&self) -> Sqn {
        Sqn((self.highest_seq() << self.config.ind_bits) & SQN_MASK)
    }

    /// Checks a received SQN without changing state (Annex C.2.1, C.2.2).
    pub fn check(&self, sqn: Sqn) -> Result<(), SqnRejection> {
        let b = self.config.ind_bits;
        let (seq, ind) = (sqn.seq(b), sqn.ind(b) as usize);
        let highest = self.highest_seq();
        // C.2.2: the age limit applies before the other two conditions.
        if let Some(l) = self.config.age_limit {
            if highest > seq && highest - seq >= l {
                return Err(SqnRejection::TooOld);
            }
        }
        // C.2.1: SEQ − SEQ_MS ≤ Δ.
        if seq > highest && seq - highest > self.config.delta {
            return Err(SqnRejection::TooFarAhead);
        }
        // C.2.2: SEQ > SEQ_MS(IND).
        if seq <= self.seq_ms[ind] {
            return Err(SqnRejection::NotFresh);
        }
        Ok(())
    }

    /// Checks a received SQN and, if fresh, records it (Annex C.2.2).
    pub fn accept(&mut self, sqn: Sqn) -> Result<(), SqnRejection> {
        self.check(sqn)?;
        let b = self.config.ind_bits;
        self.seq_ms[sqn.ind(b) as usize] = sqn.seq(b);
        Ok(())
    }
}

/// The home environment's SQN state for one subscriber (TS 33.102 Annex C.3).
///
/// Sans-I/O: a store holds `SQN_HE`; [`next`](SqnGenerator::next) returns the SQN to put in a
/// new vector and the value to store back (in one atomic update, so that no SQN is reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqnGenerator {
    config: SqnConfig,
}

impl SqnGenerator {
    /// A generator for the given scheme parameters.
    pub fn new(config: SqnConfig) -> Self {
        Self { config }
    }

    /// Next SQN after `sqn_he`: SEQ incremented by one, IND cycled through the a slots
    /// (Annex C.3.2, C.3.3). The result is also the new SQN_HE.
    pub fn next(&self, sqn_he: Sqn) -> Result<Sqn, Error> {
        let b = self.config.ind_bits;
        let a = 1u32 << b;
        let ind = (sqn_he.ind(b) + 1) % a;
        let seq = sqn_he.seq(b) + 1;
        Sqn::from_parts(seq, ind, b)
            .map_err(|_| Error::invalid("SQN", "sequence number space exhausted"))
    }

    /// Resynchronisation (TS 33.102 §6.3.5, Annex C.3.4): given SQN_MS from a verified AUTS,
    /// the SQN_HE to store. If the next SQN from the current SQN_HE would already be fresh
    /// for the USIM, SQN_HE stays; otherwise it is set to SQN_MS.
    pub fn resync(&self, sqn_he: Sqn, sqn_ms: Sqn) -> Sqn {
        let b = self.config.ind_bits;
        let next_seq = sqn_he.seq(b) + 1;
        let ms_seq = sqn_ms.seq(b);
        let in_range = next_seq > ms_seq && next_seq - ms_seq <= self.config.delta;
        if in_range {
            sqn_he
        } else {
            sqn_ms
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SqnConfig {
        SqnConfig::default()
    }

    #[test]
    fn byte_round_trip() {
        let s = Sqn::from_hex("ff9bb4d0b607").unwrap();
        assert_eq!(s.to_bytes(), [0xff, 0x9b, 0xb4, 0xd0, 0xb6, 0x07]);
        assert_eq!(s.to_string(), "ff9bb4d0b607");
        assert!(Sqn::new(1 << 48).is_err());
    }

    #[test]
    fn seq_ind_split() {
        let s = Sqn::from_parts(0x1234, 7, 5).unwrap();
        assert_eq!(s.seq(5), 0x1234);
        assert_eq!(s.ind(5), 7);
        assert!(Sqn::from_parts(1, 32, 5).is_err());
    }

    #[test]
    fn generated_sqns_are_accepted_in_order_and_replays_refused() {
        let g = SqnGenerator::new(cfg());
        let mut usim = SqnArray::new(cfg());
        let mut he = Sqn::ZERO;
        let mut seen = Vec::new();
        for _ in 0..100 {
            he = g.next(he).unwrap();
            usim.accept(he).unwrap();
            seen.push(he);
        }
        for s in seen {
            assert!(usim.accept(s).is_err());
        }
        assert_eq!(usim.accept(he), Err(SqnRejection::NotFresh));
    }

    #[test]
    fn out_of_order_within_the_array_is_accepted() {
        // Two serving networks hold vectors with different IND values; the later one is used
        // first. Annex C.2.2 exists precisely to accept this.
        let g = SqnGenerator::new(cfg());
        let first = g.next(Sqn::ZERO).unwrap();
        let second = g.next(first).unwrap();
        let mut usim = SqnArray::new(cfg());
        usim.accept(second).unwrap();
        usim.accept(first).unwrap();
    }

    #[test]
    fn delta_and_age_limits() {
        let mut usim = SqnArray::new(cfg());
        let far = Sqn::from_parts((1 << 28) + 1, 0, 5).unwrap();
        assert_eq!(usim.check(far), Err(SqnRejection::TooFarAhead));
        usim.accept(Sqn::from_parts(100, 1, 5).unwrap()).unwrap();
        let old = Sqn::from_parts(100 - 32, 2, 5).unwrap();
        assert_eq!(usim.check(old), Err(SqnRejection::TooOld));
        let recent = Sqn::from_parts(100 - 31, 2, 5).unwrap();
        assert_eq!(usim.check(recent), Ok(()));
    }

    #[test]
    fn resync_moves_the_home_environment_past_the_usim() {
        let g = SqnGenerator::new(cfg());
        let mut usim = SqnArray::new(cfg());
        usim.accept(Sqn::from_parts(5000, 3, 5).unwrap()).unwrap();
        let he = Sqn::from_parts(10, 9, 5).unwrap();
        let rejected = g.next(he).unwrap();
        assert!(usim.check(rejected).is_err());
        let he = g.resync(he, usim.sqn_ms());
        let next = g.next(he).unwrap();
        usim.accept(next).unwrap();
        // When the home environment is already ahead, resync keeps its SQN_HE.
        let ahead = Sqn::from_parts(6000, 0, 5).unwrap();
        assert_eq!(g.resync(ahead, usim.sqn_ms()), ahead);
    }
}
