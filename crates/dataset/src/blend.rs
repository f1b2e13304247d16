//! Blending corpora into one dataset (a recipe's `with`).
//!
//! Some genres have no single corpus with every part: POP909 has no drums, Freedoom's rock has
//! few songs. Two kinds of corpus can join a recipe's own:
//! - **a corpus with a melody** adds its training windows, its roles mapped onto ours by name
//!   (capped by `max_share`, evenly spread, so a big corpus cannot drown the genre's own);
//! - **a corpus without melody** (drum grooves) is never an example on its own: it lends its
//!   parts. Every window of a corpus that lacks those roles gets the parts of one of its windows
//!   with the same bars, picked by a hash of the salt and the window, so the build stays
//!   deterministic. The drums then go with a melody they were not played with: fair for a beat,
//!   which follows the bar rather than the tune, and said in the model cards that use it.
//!
//! The model is judged on the recipe's own validation melodies, so only the first corpus gives
//! validation windows (with lent parts laid over them from the lender's validation side).

use crate::build::SongEntry;
use crate::recipe::Plane;
use crate::window::{Window, WindowNote};
use std::collections::HashMap;

/// One recipe's windows, as collected.
pub(crate) struct Corpus {
    pub planes: Vec<Plane>,
    pub songs: Vec<SongEntry>,
    pub train: Vec<Window>,
    pub validation: Vec<Window>,
    /// Melody absent: its parts are laid over other windows instead of being examples.
    pub lends_parts: bool,
    /// Training windows at most this fraction of the first corpus's (None: all).
    pub max_share: Option<f64>,
}

/// The blended dataset.
pub(crate) struct Blend {
    pub planes: Vec<Plane>,
    pub train: Vec<Window>,
    pub validation: Vec<Window>,
    pub songs: Vec<SongEntry>,
}

/// Blends `corpora` (the recipe's own first). With one corpus this is the identity.
pub(crate) fn blend(salt: &str, corpora: &[&Corpus]) -> Blend {
    // Planes: the recipe's own, then the roles only lenders have, in the order they appear.
    let mut planes: Vec<Plane> = corpora[0].planes.to_vec();
    let maps: Vec<Vec<u8>> = corpora
        .iter()
        .map(|corpus| {
            corpus
                .planes
                .iter()
                .map(|plane| {
                    let index = match planes.iter().position(|p| p.role == plane.role) {
                        Some(index) => index,
                        None => {
                            planes.push(*plane);
                            planes.len() - 1
                        }
                    };
                    index as u8
                })
                .collect()
        })
        .collect();

    let mut songs = Vec::new();
    let mut first_song = Vec::new();
    for corpus in corpora {
        let offset = songs.len() as u32;
        first_song.push(offset);
        songs.extend(corpus.songs.iter().map(|song| SongEntry {
            id: song.id + offset,
            ..song.clone()
        }));
    }
    let moved = |c: usize, window: &Window| Window {
        song: window.song + first_song[c],
        bar_steps: window.bar_steps.clone(),
        notes: window
            .notes
            .iter()
            .map(|note| WindowNote {
                track: maps[c][usize::from(note.track)],
                ..*note
            })
            .collect(),
    };

    let lenders: Vec<Lender> = (0..corpora.len())
        .filter(|&c| c > 0 && corpora[c].lends_parts)
        .map(|c| Lender {
            planes: maps[c][1..].to_vec(),
            train: Pool::new(corpora[c].train.iter().map(|w| moved(c, w)).collect()),
            validation: Pool::new(corpora[c].validation.iter().map(|w| moved(c, w)).collect()),
        })
        .collect();

    let mut train = Vec::new();
    let mut validation = Vec::new();
    for (c, corpus) in corpora.iter().enumerate() {
        if c > 0 && corpus.lends_parts {
            continue;
        }
        let missing: Vec<u8> = (0..planes.len() as u8)
            .filter(|plane| !maps[c].contains(plane))
            .collect();
        let kept = match corpus.max_share {
            Some(share) => evenly_spread(
                &corpus.train,
                (share * corpora[0].train.len() as f64).ceil() as usize,
            ),
            None => corpus.train.iter().collect(),
        };
        for (i, window) in kept.into_iter().enumerate() {
            let mut window = moved(c, window);
            lend(&mut window, &missing, &lenders, Side::Train, salt, c, i);
            train.push(window);
        }
        if c == 0 {
            for (i, window) in corpus.validation.iter().enumerate() {
                let mut window = moved(c, window);
                lend(
                    &mut window,
                    &missing,
                    &lenders,
                    Side::Validation,
                    salt,
                    c,
                    i,
                );
                validation.push(window);
            }
        }
    }
    Blend {
        planes,
        train,
        validation,
        songs,
    }
}

/// A corpus without melody, its windows already on the blended planes.
struct Lender {
    /// The planes it lends (its roles after the melody).
    planes: Vec<u8>,
    train: Pool,
    validation: Pool,
}

/// One side of a lender's windows, indexed by their bars, so that finding the donors of a
/// window does not scan them all.
struct Pool {
    windows: Vec<Window>,
    /// Bar lengths → indices into `windows`, in order.
    by_bars: HashMap<Vec<u32>, Vec<usize>>,
}

impl Pool {
    fn new(windows: Vec<Window>) -> Pool {
        let mut by_bars: HashMap<Vec<u32>, Vec<usize>> = HashMap::new();
        for (i, window) in windows.iter().enumerate() {
            by_bars.entry(window.bar_steps.clone()).or_default().push(i);
        }
        Pool { windows, by_bars }
    }
}

#[derive(Clone, Copy)]
enum Side {
    Train,
    Validation,
}

/// Lays over `window` the parts of its `missing` planes from one window of each lender that
/// has them, with the same bars (from the same side of the split when it has one).
fn lend(
    window: &mut Window,
    missing: &[u8],
    lenders: &[Lender],
    side: Side,
    salt: &str,
    corpus: usize,
    index: usize,
) {
    for (l, lender) in lenders.iter().enumerate() {
        let wanted: Vec<u8> = lender
            .planes
            .iter()
            .copied()
            .filter(|p| missing.contains(p))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let pool = match side {
            Side::Validation if !lender.validation.windows.is_empty() => &lender.validation,
            _ => &lender.train,
        };
        let Some(same_bars) = pool.by_bars.get(&window.bar_steps) else {
            continue;
        };
        let pick = hash(salt, &[corpus as u64, l as u64, side as u64, index as u64]);
        let donor = &pool.windows[same_bars[(pick % same_bars.len() as u64) as usize]];
        window.notes.extend(
            donor
                .notes
                .iter()
                .filter(|note| wanted.contains(&note.track)),
        );
    }
    // Lent notes, and roles renumbered onto the blended planes, must still read in window order.
    window
        .notes
        .sort_by_key(|note| (note.start, note.track, note.pitch));
}

/// `count` items spread evenly over `items` (all of them when there are no more).
fn evenly_spread<T>(items: &[T], count: usize) -> Vec<&T> {
    if count >= items.len() {
        return items.iter().collect();
    }
    (0..count)
        .map(|i| &items[i * items.len() / count])
        .collect()
}

/// FNV-1a over the salt and the numbers, then a splitmix finish so nearby indices spread.
fn hash(salt: &str, numbers: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = salt
        .bytes()
        .chain(numbers.iter().flat_map(|n| n.to_le_bytes()));
    for byte in bytes {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::Side as SplitSide;
    use orchestrion_music::TrackRole;

    fn plane(role: TrackRole) -> Plane {
        Plane {
            role,
            program: 0,
            range: None,
        }
    }

    fn song(id: u32) -> SongEntry {
        SongEntry {
            id,
            path: format!("song-{id}.mid"),
            side: SplitSide::Train,
            windows: 1,
        }
    }

    fn note(track: u8, pitch: u8, start: u16) -> WindowNote {
        WindowNote {
            track,
            pitch,
            velocity: 90,
            start,
            duration: 1,
        }
    }

    fn window(song: u32, bars: &[u32], notes: Vec<WindowNote>) -> Window {
        Window {
            song,
            bar_steps: bars.to_vec(),
            notes,
        }
    }

    #[test]
    fn one_corpus_blends_to_itself() {
        let planes = [plane(TrackRole::Melody), plane(TrackRole::Bass)];
        let songs = [song(0)];
        let train = [window(0, &[16], vec![note(0, 60, 0), note(1, 36, 0)])];
        let validation = [window(0, &[16], vec![note(0, 62, 4)])];
        let out = blend(
            "salt",
            &[&Corpus {
                planes: planes.to_vec(),
                songs: songs.to_vec(),
                train: train.to_vec(),
                validation: validation.to_vec(),
                lends_parts: false,
                max_share: None,
            }],
        );
        assert_eq!(out.planes, planes);
        assert_eq!(out.train, train);
        assert_eq!(out.validation, validation);
        assert_eq!(out.songs, songs);
    }

    #[test]
    fn lent_drums_join_windows_of_the_same_bars_and_roles_map_by_name() {
        // The recipe's own: melody, bass, piano. A second corpus with a melody has piano and
        // bass in the other order; a drums-only corpus lends drums in 4/4 and 3/4 bars.
        let own = [
            plane(TrackRole::Melody),
            plane(TrackRole::Bass),
            plane(TrackRole::Piano),
        ];
        let other = [
            plane(TrackRole::Melody),
            plane(TrackRole::Piano),
            plane(TrackRole::Bass),
        ];
        let drums = [plane(TrackRole::Melody), plane(TrackRole::Drums)];
        let own_train = [window(0, &[16, 16], vec![note(0, 60, 0), note(1, 36, 0)])];
        let own_validation = [window(1, &[12], vec![note(0, 64, 0)])];
        let other_train = [
            window(0, &[16, 16], vec![note(1, 48, 2), note(2, 40, 3)]),
            window(0, &[16, 16], vec![note(0, 67, 0)]),
        ];
        let drum_train = [
            window(0, &[12], vec![note(1, 42, 1)]),
            window(0, &[16, 16], vec![note(1, 36, 0), note(1, 38, 4)]),
        ];
        let out = blend(
            "salt",
            &[
                &Corpus {
                    planes: own.to_vec(),
                    songs: vec![song(0), song(1)],
                    train: own_train.to_vec(),
                    validation: own_validation.to_vec(),
                    lends_parts: false,
                    max_share: None,
                },
                &Corpus {
                    planes: other.to_vec(),
                    songs: vec![song(0)],
                    train: other_train.to_vec(),
                    validation: Vec::new(),
                    lends_parts: false,
                    max_share: Some(1.0),
                },
                &Corpus {
                    planes: drums.to_vec(),
                    songs: vec![song(0)],
                    train: drum_train.to_vec(),
                    validation: Vec::new(),
                    lends_parts: true,
                    max_share: None,
                },
            ],
        );
        let roles: Vec<TrackRole> = out.planes.iter().map(|p| p.role).collect();
        assert_eq!(
            roles,
            [
                TrackRole::Melody,
                TrackRole::Bass,
                TrackRole::Piano,
                TrackRole::Drums
            ]
        );
        // max_share 1.0 of one own window: one window of the other corpus, its roles renamed.
        assert_eq!(out.train.len(), 2);
        let drum_notes = |w: &Window| -> Vec<u8> {
            w.notes
                .iter()
                .filter(|n| n.track == 3)
                .map(|n| n.pitch)
                .collect()
        };
        for w in &out.train {
            // The only 4/4 groove, never the 3/4 one.
            assert_eq!(drum_notes(w), [36, 38]);
        }
        let other_window = &out.train[1];
        assert_eq!(other_window.song, 2, "song ids follow the first corpus's");
        assert!(
            other_window.notes.contains(&note(2, 48, 2)),
            "piano is plane 2"
        );
        assert!(
            other_window.notes.contains(&note(1, 40, 3)),
            "bass is plane 1"
        );
        // Validation: only the recipe's own, with a 3/4 groove lent from the train side (the
        // lender has no validation windows).
        assert_eq!(out.validation.len(), 1);
        assert_eq!(drum_notes(&out.validation[0]), [42]);
        assert_eq!(out.songs.len(), 4);
        assert!(
            out.train
                .iter()
                .all(|w| w.notes.is_sorted_by_key(|n| (n.start, n.track, n.pitch)))
        );
    }

    #[test]
    fn evenly_spread_takes_every_kth() {
        let items: Vec<u32> = (0..10).collect();
        let picked: Vec<u32> = evenly_spread(&items, 5).into_iter().copied().collect();
        assert_eq!(picked, [0, 2, 4, 6, 8]);
        assert_eq!(evenly_spread(&items, 20).len(), 10);
    }
}
