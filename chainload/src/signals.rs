//! The signal state the caller gave the tool, handed on to PROG unchanged.
//!
//! An exec keeps the signal mask and every ignored signal. A tool may block
//! signals for itself (the PID-1 init blocks the relayed ones for sigwait)
//! and the Rust runtime ignores SIGPIPE before `main`: left as they are,
//! PROG would start with signals blocked or ignored that its caller never
//! asked for (a `sleep` that cannot be stopped by SIGTERM). Emptying
//! everything, as `std::process::Command` does, is wrong the other way: a
//! caller that ignores SIGINT (`nohup`, a background job) or blocks a signal
//! on purpose expects that to reach the program, as with any exec'ing tool
//! (env, nice, chroot). So the state is recorded when the tool starts and
//! put back just before every exec.

use std::sync::atomic::{AtomicU8, Ordering};

use nix::sys::signal::SigSet;

use crate::sys::{self, Disposition};

/// Highest signal number Linux has (SIGRTMAX on x86-64).
const LAST_SIGNAL: libc::c_int = 64;

/// SIGPIPE as the caller gave it, read before the Rust runtime ignores it.
/// 0: not read (no constructor ran), 1: default, 2: ignored.
static CALLER_SIGPIPE: AtomicU8 = AtomicU8::new(0);

/// Runs from `.init_array`, before the Rust runtime's own start-up (which
/// sets SIGPIPE to ignored and keeps no record of what it was).
extern "C" fn record_sigpipe() {
    let state = match sys::disposition(libc::SIGPIPE) {
        Some(Disposition::Ignored) => 2,
        _ => 1,
    };
    CALLER_SIGPIPE.store(state, Ordering::Relaxed);
}

// The C runtime calls every function listed in .init_array before main, on
// glibc and musl alike; `used` keeps the entry although nothing names it.
#[used]
#[link_section = ".init_array"]
static RECORD_SIGPIPE: extern "C" fn() = record_sigpipe;

/// The mask and the ignored signals, as the caller left them.
pub(crate) struct CallerSignals {
    mask: SigSet,
    ignored: Vec<libc::c_int>,
}

impl CallerSignals {
    /// Read the state now: call before the tool changes any of it.
    /// `sig_ign` is SigIgn of /proc/self/status read at start, if it was.
    pub(crate) fn record(sig_ign: Option<u64>) -> CallerSignals {
        // Naming the constructor keeps its object in the link whatever the
        // codegen units (an unreferenced section may be dropped).
        std::hint::black_box(&RECORD_SIGPIPE);
        let mask = SigSet::thread_get_mask().unwrap_or_else(|_| SigSet::empty());
        let ignored_now = ignored_by(sig_ign);
        let ignored = (1..=LAST_SIGNAL)
            .filter(|&signo| match signo {
                libc::SIGPIPE => CALLER_SIGPIPE.load(Ordering::Relaxed) == 2,
                _ => ignored_now(signo),
            })
            .collect();
        CallerSignals { mask, ignored }
    }

    /// Put the caller's state back: its ignored signals ignored, every
    /// other one default (a handler would not survive exec anyway), and its
    /// mask.
    ///
    /// Only the signals whose disposition changed since the start can
    /// differ from the caller's, and those are known without asking the
    /// kernel: SIGPIPE, which the Rust runtime ignores before `main`, and
    /// whatever went through [`sys::set_disposition`], the one place in
    /// isokit that changes a disposition (it records each signal it
    /// touches). Every other signal is still as exec left it: ignored if
    /// the caller ignored it, default otherwise, or handled by the Rust
    /// runtime (SIGSEGV, SIGBUS: only where it was default), which exec
    /// makes default again. Reading SigIgn again here cost a read of
    /// /proc/self/status per exec.
    pub(crate) fn restore(&self) -> nix::Result<()> {
        let touched = sys::touched_dispositions();
        for signo in 1..=LAST_SIGNAL {
            let bit = 1u64 << (signo - 1);
            let wanted = self.ignored.contains(&signo);
            let differs = match signo {
                // Ignored by the runtime: wrong only for a caller that left it default.
                libc::SIGPIPE => !wanted || touched & bit != 0,
                _ => touched & bit != 0,
            };
            if differs {
                let disposition = if wanted { Disposition::Ignored } else { Disposition::Default };
                sys::set_disposition(signo, disposition)?;
            }
        }
        self.mask.thread_set_mask()
    }

    #[cfg(test)]
    pub(crate) fn ignored(&self) -> &[libc::c_int] {
        &self.ignored
    }
}

/// Whether each signal is ignored now (the tests' view of `ignored_by`).
#[cfg(test)]
fn ignored_now() -> impl Fn(libc::c_int) -> bool {
    ignored_by(crate::StartStatus::read().sig_ign)
}

/// Whether each signal is ignored, from the SigIgn mask of
/// /proc/self/status (bit N-1 for signal N, proc(5)) read when the tool
/// started: one read, where asking sigaction(2) is a system call per
/// signal, 64 of them. Without a real procfs (after `pivot --no-proc`),
/// None: sigaction is asked.
fn ignored_by(mask: Option<u64>) -> impl Fn(libc::c_int) -> bool {
    move |signo: libc::c_int| match mask {
        Some(mask) => (1..=LAST_SIGNAL).contains(&signo) && mask & (1u64 << (signo - 1)) != 0,
        None => sys::disposition(signo) == Some(Disposition::Ignored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;

    #[test]
    fn the_constructor_ran_before_main() {
        CallerSignals::record(None);
        assert_ne!(CALLER_SIGPIPE.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn sigpipe_is_taken_from_before_the_runtime() {
        // The Rust runtime of the test harness ignores SIGPIPE; cargo
        // starts it with SIGPIPE default, and that is what must be seen.
        assert!(!CallerSignals::record(crate::StartStatus::read().sig_ign).ignored().contains(&libc::SIGPIPE));
        assert!(!CallerSignals::record(None).ignored().contains(&libc::SIGPIPE));
    }

    // Dispositions are per process and `restore` puts back every signal
    // any test changed (see sys::touched_dispositions): the tests that
    // change or compare dispositions take turns.
    static DISPOSITIONS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn dispositions() -> std::sync::MutexGuard<'static, ()> {
        DISPOSITIONS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[test]
    fn the_ignored_mask_agrees_with_sigaction() {
        let _turn = dispositions();
        // SIGURG, which no other test touches; SIGWINCH is left out of the
        // comparison, as the test below changes it meanwhile.
        let was = sys::disposition(libc::SIGURG).expect("query");
        sys::set_disposition(libc::SIGURG, Disposition::Ignored).expect("ignore");
        let ignored = ignored_now();
        for signo in (1..=LAST_SIGNAL).filter(|&signo| signo != libc::SIGWINCH) {
            if let Some(disposition) = sys::disposition(signo) {
                assert_eq!(ignored(signo), disposition == Disposition::Ignored, "signal {signo}");
            }
        }
        assert!(ignored(libc::SIGURG));
        sys::set_disposition(libc::SIGURG, was).expect("put back");
        assert_eq!(ignored_now()(libc::SIGURG), was == Disposition::Ignored);
    }

    #[test]
    fn restore_undoes_a_blocked_and_an_ignored_signal() {
        // Runs in a thread of its own: the mask is per thread, so other
        // tests are not disturbed.
        let _turn = dispositions();
        std::thread::spawn(|| {
            let caller = CallerSignals::record(crate::StartStatus::read().sig_ign);
            let was_ignored = sys::disposition(libc::SIGWINCH);
            let mut set = SigSet::empty();
            set.add(Signal::SIGUSR2);
            set.thread_block().expect("block");
            sys::set_disposition(libc::SIGWINCH, Disposition::Ignored).expect("ignore");
            caller.restore().expect("restore");
            assert!(!SigSet::thread_get_mask().expect("mask").contains(Signal::SIGUSR2));
            assert_eq!(sys::disposition(libc::SIGWINCH), was_ignored);
        })
        .join()
        .expect("thread");
    }
}
