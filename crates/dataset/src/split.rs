//! The train / validation split, by song: a song's windows all go to one side.
//!
//! The side is decided by a hash of the song's path relative to the datasets folder (and the
//! recipe's salt), not by its position in a listing, so adding a file never moves another song
//! across the split and two machines always agree.

use sha2::{Digest, Sha256};

/// Which side of the split a song is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Train,
    Validation,
}

/// A number in [0, 1) that depends only on the salt and the path.
pub fn song_fraction(salt: &str, relative_path: &str) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0]);
    hasher.update(relative_path.replace('\\', "/").as_bytes());
    let digest = hasher.finalize();
    let bits = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The side of a song: validation when its fraction is below `validation`.
pub fn side_of(salt: &str, relative_path: &str, validation: f64) -> Side {
    if song_fraction(salt, relative_path) < validation {
        Side::Validation
    } else {
        Side::Train
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stable_and_near_the_asked_fraction() {
        let paths: Vec<String> = (0..2000).map(|i| format!("corpus/{i:04}.mid")).collect();
        let sides: Vec<Side> = paths.iter().map(|p| side_of("s", p, 0.1)).collect();
        let again: Vec<Side> = paths.iter().map(|p| side_of("s", p, 0.1)).collect();
        assert_eq!(sides, again);
        let validation = sides.iter().filter(|&&s| s == Side::Validation).count();
        assert!((150..250).contains(&validation), "{validation} of 2000");
        let other_salt = paths
            .iter()
            .filter(|p| side_of("t", p, 0.1) != side_of("s", p, 0.1));
        assert!(other_salt.count() > 100, "the salt changes the draw");
    }

    #[test]
    fn zero_fraction_puts_everything_in_train() {
        assert_eq!(side_of("s", "a.mid", 0.0), Side::Train);
    }
}
