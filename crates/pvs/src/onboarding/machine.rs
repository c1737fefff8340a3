//! The onboarding state machine (DESIGN.md §5: credentials are provisioned exactly once),
//! without I/O. Each onboarding is persisted; every step is a compare-and-swap from one
//! state to the next, so a crash or a timeout at any point leaves a state from which the
//! next attempt resumes (the same credentials, pushed again under the same idempotency key)
//! or the sweeper rolls back (removing what the network may hold).
//!
//! ```text
//!  generated ──push acknowledged──▶ pushed ──sent to the UE──▶ delivered ──UE confirms──▶ confirmed
//!      │                              │                                                    │
//!      └──────── too old: removed from the network ──▶ rolled_back        rotated: ──▶ superseded
//! ```

use std::fmt;
use std::str::FromStr;

/// The state of one onboarding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Credentials generated and stored (sealed); the network may or may not hold them yet.
    Generated,
    /// Every network target acknowledged; the UE has not been sent them.
    Pushed,
    /// Sent to the UE; not yet confirmed (the UE may or may not hold them).
    Delivered,
    /// The UE confirmed it stored them: the onboarding is finished.
    Confirmed,
    /// Removed from the network before the UE could have received them.
    RolledBack,
    /// Replaced by a later onboarding of the same device (rotation) and removed.
    Superseded,
}

/// What to do next with an onboarding that a UE asks its credentials for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Push to the network (again: the push is idempotent), then deliver.
    Push,
    /// Deliver (again) to the UE.
    Deliver,
    /// Nothing can be delivered from this onboarding: start a new one.
    StartNew,
}

impl State {
    /// All states.
    pub const ALL: [State; 6] = [
        State::Generated,
        State::Pushed,
        State::Delivered,
        State::Confirmed,
        State::RolledBack,
        State::Superseded,
    ];

    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Generated => "generated",
            State::Pushed => "pushed",
            State::Delivered => "delivered",
            State::Confirmed => "confirmed",
            State::RolledBack => "rolled_back",
            State::Superseded => "superseded",
        }
    }

    /// Open: not finished and not abandoned (at most one per device).
    pub fn is_open(self) -> bool {
        matches!(self, State::Generated | State::Pushed | State::Delivered)
    }

    /// Whether the UE may hold these credentials (so they must not be removed from the
    /// network without a rotation).
    pub fn ue_may_hold(self) -> bool {
        matches!(self, State::Delivered | State::Confirmed)
    }

    /// Whether the sweeper may roll it back once it is too old: only before delivery.
    pub fn may_roll_back(self) -> bool {
        matches!(self, State::Generated | State::Pushed)
    }

    /// What a UE's request for credentials does with it.
    pub fn next(self) -> Next {
        match self {
            State::Generated => Next::Push,
            State::Pushed | State::Delivered | State::Confirmed => Next::Deliver,
            State::RolledBack | State::Superseded => Next::StartNew,
        }
    }

    /// Whether `self → to` is a transition of the machine.
    pub fn can_move_to(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (Generated, Pushed)
                | (Pushed, Delivered)
                | (Delivered, Confirmed)
                | (Generated | Pushed, RolledBack)
                | (Confirmed, Superseded)
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        State::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown onboarding state {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().unwrap(), s);
        }
        assert!("done".parse::<State>().is_err());
    }

    #[test]
    fn only_undelivered_onboardings_roll_back() {
        for s in State::ALL {
            assert_eq!(s.may_roll_back(), s.can_move_to(State::RolledBack), "{s}");
            // Nothing the UE may hold is ever rolled back.
            assert!(!(s.ue_may_hold() && s.may_roll_back()), "{s}");
        }
    }

    #[test]
    fn the_happy_path_is_a_chain() {
        let path = [
            State::Generated,
            State::Pushed,
            State::Delivered,
            State::Confirmed,
        ];
        for w in path.windows(2) {
            assert!(w[0].can_move_to(w[1]));
            assert!(!w[1].can_move_to(w[0]), "no way back from {}", w[1]);
        }
        assert_eq!(State::Generated.next(), Next::Push);
        assert_eq!(State::Delivered.next(), Next::Deliver);
        assert_eq!(State::RolledBack.next(), Next::StartNew);
        // Terminal states stay terminal.
        for to in State::ALL {
            assert!(!State::RolledBack.can_move_to(to));
            assert!(!State::Superseded.can_move_to(to));
        }
    }
}
