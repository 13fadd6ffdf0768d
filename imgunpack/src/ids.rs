//! Owners of unpacked files: the ids stored in the layer, moved through
//! `--map-ids` ranges (a store for containers whose user namespace maps
//! container root to a host range, as Docker's userns-remap and rootless
//! Podman's storage do), and checked against the ids this process can
//! give at all (its user namespace's uid_map and gid_map: inside
//! `unshare --user` with subordinate ranges the kernel moves them to the
//! host's ids itself).
//!
//! An id that lands outside is not refused: the file goes to the
//! container's nobody (the kernel's overflow id, 65534), which is what a
//! process in the container would see for it anyway, and the unpack says
//! how many files it gave away. Only when nobody itself cannot be given
//! is the unpack refused.

use std::str::FromStr;

use anyhow::{bail, Context};

/// One range: container ids `inside..inside+count` are `outside..`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl Range {
    fn map(&self, id: u32) -> Option<u32> {
        let offset = id.checked_sub(self.inside).filter(|o| *o < self.count)?;
        self.outside.checked_add(offset)
    }

    fn holds(&self, id: u32) -> bool {
        id >= self.inside && id - self.inside < self.count
    }
}

/// `CONTAINER:HOST:COUNT`, as `--map-ids` takes it.
impl FromStr for Range {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || "not CONTAINER:HOST:COUNT (e.g. 0:100000:65536)".to_string();
        let fields: Vec<&str> = text.split(':').collect();
        let [inside, outside, count] = fields[..] else { return Err(bad()) };
        let number = |s: &str| s.parse::<u32>().map_err(|_| bad());
        let range = Range { inside: number(inside)?, outside: number(outside)?, count: number(count)? };
        let fits = |start: u32| u64::from(start) + u64::from(range.count) <= u64::from(u32::MAX);
        if range.count == 0 || !fits(range.inside) || !fits(range.outside) {
            return Err(bad());
        }
        Ok(range)
    }
}

/// The ids of one kind (uids or gids) this process can give, as the
/// `inside` column of /proc/self/uid_map (or gid_map) lists them.
fn usable_ids(map: &str) -> anyhow::Result<Vec<Range>> {
    map.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<u32> = line.split_whitespace().filter_map(|f| f.parse().ok()).collect();
            match fields[..] {
                [inside, outside, count] => Ok(Range { inside, outside, count }),
                _ => bail!("unreadable id map line '{line}'"),
            }
        })
        .collect()
}

/// The ids `path` (uid_map or gid_map) lets this process give. Without a
/// procfs there (a bare chroot) every id is taken as usable, as before
/// mappings were read: a chown the kernel refuses still fails the unpack.
fn read_map(path: &str) -> anyhow::Result<Vec<Range>> {
    let Some(text) = chainload::read_procfs(path)? else {
        return Ok(vec![Range { inside: 0, outside: 0, count: u32::MAX }]);
    };
    usable_ids(&text).with_context(|| format!("read '{path}'"))
}

/// How stored owners become the owners given.
pub struct Owners {
    map: Vec<Range>,
    usable_uids: Vec<Range>,
    usable_gids: Vec<Range>,
    nobody: (u32, u32),
}

/// An owner to give, and whether it is the nobody fallback.
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    pub fallback: bool,
}

impl Owners {
    /// For this process, with the `--map-ids` ranges (none: ids as stored).
    pub fn new(map: Vec<Range>) -> anyhow::Result<Self> {
        let overflow = |path: &str| -> anyhow::Result<u32> {
            let text = chainload::read_procfs(path)?.unwrap_or_else(|| "65534".into());
            text.trim().parse().with_context(|| format!("read '{path}'"))
        };
        Ok(Owners {
            map,
            usable_uids: read_map("/proc/self/uid_map")?,
            usable_gids: read_map("/proc/self/gid_map")?,
            nobody: (overflow("/proc/sys/kernel/overflowuid")?, overflow("/proc/sys/kernel/overflowgid")?),
        })
    }

    /// Container id `id` given as this process names it, if it can be.
    fn give(&self, id: u64, usable: &[Range]) -> Option<u32> {
        let id = u32::try_from(id).ok()?;
        let given = if self.map.is_empty() { Some(id) } else { self.map.iter().find_map(|r| r.map(id)) }?;
        usable.iter().any(|r| r.holds(given)).then_some(given)
    }

    /// The owner for stored `uid`, `gid`: each moved through the map, or
    /// nobody's when it falls outside.
    pub fn owner(&self, uid: u64, gid: u64) -> anyhow::Result<Owner> {
        let (mut fallback, nobody) = (false, self.nobody);
        let mut pick = |id: u64, nobody: u32, usable: &[Range], kind: &str| -> anyhow::Result<u32> {
            if let Some(given) = self.give(id, usable) {
                return Ok(given);
            }
            fallback = true;
            self.give(u64::from(nobody), usable).with_context(|| {
                format!("{kind} {id} is outside the ids this unpack can give, and so is nobody's ({nobody})")
            })
        };
        let uid = pick(uid, nobody.0, &self.usable_uids, "uid")?;
        let gid = pick(gid, nobody.1, &self.usable_gids, "gid")?;
        Ok(Owner { uid, gid, fallback })
    }

    /// Container root's uid as given here: the owner a file capability
    /// is granted for (its rootid); None when container root is outside.
    pub fn root(&self) -> Option<u32> {
        self.give(0, &self.usable_uids)
    }
}

/// The name of a root unpacked with `map`: one store can hold an image
/// unpacked for several mappings, each its own directory.
pub fn suffix(map: &[Range]) -> String {
    map.iter().map(|r| format!("-map-{}-{}-{}", r.inside, r.outside, r.count)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(map: &[&str], usable: &str) -> Owners {
        Owners {
            map: map.iter().map(|m| m.parse().unwrap()).collect(),
            usable_uids: usable_ids(usable).unwrap(),
            usable_gids: usable_ids(usable).unwrap(),
            nobody: (65534, 65534),
        }
    }

    #[test]
    fn ranges_parse_and_refuse() {
        assert_eq!("0:100000:65536".parse(), Ok(Range { inside: 0, outside: 100000, count: 65536 }));
        for bad in ["0:100000", "0:1:0", "a:1:2", "0:4294967295:2", "1:2:3:4", "-1:0:1"] {
            assert!(bad.parse::<Range>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_move_through_the_map_or_fall_to_nobody() {
        let host = "0 0 4294967295\n";
        let shifted = owners(&["0:100000:65536"], host);
        let owner = shifted.owner(1234, 99).unwrap();
        assert_eq!((owner.uid, owner.gid, owner.fallback), (101234, 100099, false));
        let owner = shifted.owner(70000, 0).unwrap();
        assert_eq!((owner.uid, owner.gid, owner.fallback), (165534, 100000, true));
        assert_eq!(shifted.root(), Some(100000));
        // Two ranges, as rootless Podman's: root is the user, the rest subordinate.
        let podman = owners(&["0:1000:1", "1:200000:65536"], host);
        assert_eq!(podman.owner(0, 1).unwrap().uid, 1000);
        assert_eq!(podman.owner(5, 1).unwrap().gid, 200000);
        // Without a map, inside a user namespace of 65536 ids.
        let userns = owners(&[], "0 200000 65536\n");
        assert_eq!(userns.owner(42, 42).unwrap().uid, 42);
        assert!(userns.owner(65536, 0).unwrap().fallback);
        // Nobody outside too: refused.
        assert!(owners(&["0:100000:1000"], host).owner(5000, 0).is_err());
        assert!(owners(&[], "0 200000 10\n").root().is_some());
        assert!(owners(&["1:100000:10"], host).root().is_none());
    }
}
