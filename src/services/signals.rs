//! SIGINT, SIGTERM and SIGHUP as a flag the supervisor polls: a signal handler may do almost
//! nothing safely, and polling keeps the stopping in ordinary code.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
        // The terminal of a foreground `up` closed: stop the services rather than orphan them.
        libc::signal(libc::SIGHUP, handler);
    }
}

/// Whether Ctrl-C, SIGTERM (e.g. from `paxx-compose down`) or SIGHUP arrived.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
