//! Applying the plan, in the one order the kernel's rules allow, and
//! checking afterwards that the kernel holds exactly what was asked.

use anyhow::{anyhow, bail, Context};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use crate::caps::CapSet;
use crate::options::Plan;
use crate::state::State;
use crate::sys::{self, Sets};

/// Apply the plan. The order is fixed, whatever the order of the options:
///
/// 1. keep-caps: setresuid from 0 to non-zero clears the permitted set
///    unless PR_SET_KEEPCAPS is on (capabilities(7), "Effect of user ID
///    changes on capabilities"); the caps are still needed for steps 5-7.
/// 2. supplementary groups, 3. gid, 4. uid: setgroups and setresgid need
///    CAP_SETGID, which the switch to a non-root uid removes from the
///    effective set, so the uid goes last. The groups are always replaced
///    when the user changes, so none of the caller's remain.
///
///    Then a new session keyring: keyrings belong to the credentials, and
///    the caller's session keyring would let PROG read the caller's keys.
///    Made after the uid switch, so it belongs to (and counts against the
///    key quota of) the user PROG runs as.
/// 5. bounding set: PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set,
///    so the effective set is first raised back to the permitted one.
/// 6. permitted, effective, inheritable with capset(2): lowering the
///    permitted set is final, so this comes after everything that needs
///    a capability.
/// 7. ambient: PR_CAP_AMBIENT_RAISE needs the capability permitted and
///    inheritable (step 6), and is done after the uid switch, which
///    clears the ambient set.
/// 8. no_new_privs, last: it only affects execve(2).
pub fn apply(plan: &Plan, caller_bounding: CapSet) -> anyhow::Result<()> {
    let ids = &plan.ids;
    if ids.uid.is_some() {
        nix::sys::prctl::set_keepcaps(true).context("prctl(PR_SET_KEEPCAPS, 1)")?;
    }
    if let Some(groups) = &ids.groups {
        let gids: Vec<Gid> = groups.iter().map(|&g| Gid::from_raw(g)).collect();
        setgroups(&gids).map_err(|errno| {
            anyhow!("set supplementary groups to {}: {}{}", join(groups), errno.desc(), setgroups_hint(errno))
        })?;
    }
    if let Some(gid) = ids.gid {
        let gid = Gid::from_raw(gid);
        setresgid(gid, gid, gid).with_context(|| format!("set gid {gid}"))?;
    }
    if let Some(uid) = ids.uid {
        let uid = Uid::from_raw(uid);
        setresuid(uid, uid, uid).with_context(|| format!("set uid {uid}"))?;
        // The flag has done its job; leave it off as exec would.
        nix::sys::prctl::set_keepcaps(false).context("prctl(PR_SET_KEEPCAPS, 0)")?;
    }
    if plan.new_keyring {
        chainload::creds::join_new_session_keyring().context("join a new session keyring")?;
    }

    let current = sys::capget().context("capget")?;
    if current.effective != current.permitted {
        sys::capset(Sets { effective: current.permitted, ..current })
            .context("raise the effective set to the permitted set")?;
    }
    for cap in caller_bounding.minus(plan.bounding).iter() {
        sys::bounding_drop(cap).with_context(|| format!("drop {} from the bounding set", crate::caps::name_of(cap)))?;
    }

    sys::capset(plan.sets).with_context(|| {
        format!("set permitted and effective to {}, inheritable to {}", plan.sets.permitted, plan.sets.inheritable)
    })?;

    match sys::ambient_clear_all() {
        Ok(()) => {}
        // A kernel before 4.3 has no ambient set: nothing to clear.
        Err(nix::errno::Errno::EINVAL) if plan.ambient.is_empty() => {}
        Err(err) => return Err(err).context("clear the ambient set"),
    }
    for cap in plan.ambient.iter() {
        sys::ambient_raise(cap).with_context(|| format!("raise {} in the ambient set", crate::caps::name_of(cap)))?;
    }

    if plan.no_new_privs {
        nix::sys::prctl::set_no_new_privs().context("prctl(PR_SET_NO_NEW_PRIVS, 1)")?;
    }
    Ok(())
}

/// Compare what the kernel reports with the plan: any difference, extra
/// privilege above all, is a failure (exit 125, nothing exec'd).
pub fn verify(plan: &Plan, state: &State) -> anyhow::Result<()> {
    let mut wrong = Vec::new();
    let mut check = |what: &str, actual: CapSet, expected: CapSet| {
        if actual != expected {
            wrong.push(format!("{what} set is {actual}, asked for {expected}"));
        }
    };
    check("bounding", state.bounding, plan.bounding);
    check("permitted", state.sets.permitted, plan.sets.permitted);
    check("effective", state.sets.effective, plan.sets.effective);
    check("inheritable", state.sets.inheritable, plan.sets.inheritable);
    check("ambient", state.ambient, plan.ambient);
    if let Some(uid) = plan.ids.uid {
        if state.uids != [uid; 3] {
            wrong.push(format!("uids are {:?}, asked for {uid}", state.uids));
        }
    }
    if let Some(gid) = plan.ids.gid {
        if state.gids != [gid; 3] {
            wrong.push(format!("gids are {:?}, asked for {gid}", state.gids));
        }
    }
    if let Some(groups) = &plan.ids.groups {
        // The kernel keeps the list sorted (groups_sort in kernel/groups.c).
        let (mut actual, mut expected) = (state.groups.clone(), groups.clone());
        actual.sort_unstable();
        expected.sort_unstable();
        if actual != expected {
            wrong.push(format!("groups are {}, asked for {}", join(&actual), join(&expected)));
        }
    }
    if plan.no_new_privs && !state.no_new_privs {
        wrong.push("no_new_privs is off".to_string());
    }
    if !wrong.is_empty() {
        bail!("the credentials differ from what was asked: {}", wrong.join("; "));
    }
    Ok(())
}

/// Why setgroups may be refused: a user namespace whose creator wrote
/// "deny" to /proc/self/setgroups (user_namespaces(7)) can never change
/// its groups, so the caller's would stay; capdrop refuses instead.
fn setgroups_hint(errno: nix::errno::Errno) -> &'static str {
    match std::fs::read_to_string("/proc/self/setgroups") {
        Ok(text) if errno == nix::errno::Errno::EPERM && text.trim() == "deny" => {
            " (setgroups is denied in this user namespace, so the caller's groups cannot be replaced)"
        }
        _ => "",
    }
}

pub fn join(ids: &[u32]) -> String {
    let words: Vec<String> = ids.iter().map(u32::to_string).collect();
    words.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::IdChange;

    fn plan() -> Plan {
        let kept = CapSet(1 << 10);
        Plan {
            ids: IdChange { uid: Some(65534), gid: Some(65534), groups: Some(vec![65534, 10]) },
            bounding: kept,
            sets: Sets { effective: kept, permitted: kept, inheritable: kept },
            ambient: kept,
            no_new_privs: true,
            new_keyring: true,
        }
    }

    fn matching() -> State {
        let plan = plan();
        State {
            bounding: plan.bounding,
            sets: plan.sets,
            ambient: plan.ambient,
            uids: [65534; 3],
            gids: [65534; 3],
            groups: vec![10, 65534],
            no_new_privs: true,
            securebits: 0,
        }
    }

    #[test]
    fn a_matching_state_passes_whatever_the_group_order() {
        assert!(verify(&plan(), &matching()).is_ok());
    }

    #[test]
    fn any_extra_or_missing_privilege_fails() {
        let extra_bounding = State { bounding: CapSet(1 << 10 | 1 << 21), ..matching() };
        let err = verify(&plan(), &extra_bounding).unwrap_err().to_string();
        assert_eq!(err, "the credentials differ from what was asked: bounding set is net_bind_service,sys_admin, asked for net_bind_service");
        let saved_root = State { uids: [65534, 65534, 0], ..matching() };
        assert!(verify(&plan(), &saved_root).is_err());
        let old_group = State { groups: vec![0, 10, 65534], ..matching() };
        assert!(verify(&plan(), &old_group).is_err());
        let no_nnp = State { no_new_privs: false, ..matching() };
        assert!(verify(&plan(), &no_nnp).is_err());
        let no_ambient = State { ambient: CapSet::EMPTY, ..matching() };
        assert!(verify(&plan(), &no_ambient).is_err());
    }
}
