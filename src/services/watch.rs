//! What an `up` does once its services are ready, until Ctrl-C or `down`: notice at once
//! a service that exits, say so (in the terminal or `.paxx/logs/up.log`, and in the
//! service's own log), record it for `status`, and restart it as its policy says.
//!
//! A service that exits and is not restarted (its policy, or too many failures in a row):
//! a foreground `up` stops the others and fails, as half a set of services is a
//! confusing thing to test against; the background supervisor of `up --detach` keeps the
//! others running, and `status` shows the one that ended.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::printer::{self, note};
use crate::resolve::ResolvedService;
use crate::services::exits::{self, Decision, ExitRecord, Next};
use crate::services::output;
use crate::services::signals;
use crate::services::start::{self, Cancelled, Started, Starter, TAIL};
use crate::services::state::{self, Layout};

/// A restart that is due at `at`.
struct Pending {
    service: ResolvedService,
    index: usize,
    /// Restarts in a row before this one.
    restarts: u32,
    at: Instant,
}

pub fn watch(
    starter: &Starter,
    layout: &Layout,
    mut started: Vec<Started>,
) -> Result<printer::ExitStatus> {
    let mut pending: Vec<Pending> = Vec::new();
    loop {
        if signals::requested() {
            note!("stopping …");
            stop_all(layout, &mut started);
            return Ok(printer::ExitStatus::Success);
        }
        reap(starter, layout, &mut started, &mut pending)?;
        restart_due(starter, layout, &mut started, &mut pending)?;
        if started.is_empty() && pending.is_empty() {
            return Ok(printer::ExitStatus::Success);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Takes the services that exited out of `started`: each is recorded and its restart
/// queued in `pending`, or (foreground, no restart) the others are stopped and `up` fails.
fn reap(
    starter: &Starter,
    layout: &Layout,
    started: &mut Vec<Started>,
    pending: &mut Vec<Pending>,
) -> Result<()> {
    let mut i = 0;
    while i < started.len() {
        let exited = started[i]
            .child
            .try_wait()
            .with_context(|| format!("cannot wait for {}", started[i].name))?;
        let Some(status) = exited else {
            i += 1;
            continue;
        };
        let mut gone = started.remove(i);
        gone.drain();
        let Some(record) = on_exit(layout, &gone, status)? else {
            note!("{}: stopped (paxx-compose down)", gone.name);
            start::stop_started(layout, &mut gone);
            continue;
        };
        // What it left in its process group goes with it.
        start::stop_started(layout, &mut gone);
        if record.next == Next::Restarting {
            pending.push(Pending {
                service: gone.service.clone(),
                index: gone.index,
                restarts: record.restarts,
                at: Instant::now() + delay_of(&record),
            });
        } else if !starter.detached {
            stop_all(layout, started);
            bail!(
                "{}; stopped the other services\n{}",
                record.sentence(&gone.name),
                output::tail_note(&layout.log_file(&gone.name), TAIL)
            );
        }
    }
    Ok(())
}

/// Restarts the services in `pending` whose time has come; a failed restart is queued
/// again with a longer delay, or (foreground, no more restarts) `up` fails.
fn restart_due(
    starter: &Starter,
    layout: &Layout,
    started: &mut Vec<Started>,
    pending: &mut Vec<Pending>,
) -> Result<()> {
    let now = Instant::now();
    let (due, later): (Vec<Pending>, Vec<Pending>) = std::mem::take(pending)
        .into_iter()
        .partition(|p| p.at <= now);
    *pending = later;
    for p in due {
        if signals::requested() {
            break;
        }
        match restart(starter, layout, &p) {
            Ok(Some(s)) => started.push(s),
            Ok(None) => {}
            Err(_) if exits::read(layout, &p.service.name).is_none() => {
                note!("{}: restart called off (paxx-compose down)", p.service.name);
            }
            Err(err) => {
                let name = &p.service.name;
                let failure = format!("its restart failed: {}", first_line(&err));
                let record = record_exit(layout, &p.service, None, &failure, 0.0, p.restarts + 1)?;
                if record.next == Next::Restarting {
                    pending.push(Pending {
                        restarts: p.restarts + 1,
                        at: Instant::now() + delay_of(&record),
                        ..p
                    });
                } else if !starter.detached {
                    stop_all(layout, started);
                    bail!(
                        "{}; stopped the other services\n{err:#}",
                        record.sentence(name)
                    );
                }
            }
        }
    }
    Ok(())
}

/// A watched service exited: None when `down` asked for it (its pid file is gone, or
/// names another process that a later `up` started); otherwise its policy's decision,
/// recorded, said and noted in its log.
fn on_exit(layout: &Layout, gone: &Started, status: ExitStatus) -> Result<Option<ExitRecord>> {
    let lock = layout.run_lock()?;
    let pid_file = layout.pid_file(&gone.name);
    if state::read(&pid_file).is_none_or(|r| r.pid != gone.pid) {
        return Ok(None);
    }
    state::remove(&pid_file)?;
    drop(lock);
    let ran = gone.began.elapsed();
    // A run that lasted was fine: the count of failures in a row starts afresh.
    let restarts = if ran >= exits::STABLE {
        0
    } else {
        gone.restarts
    };
    record_exit(
        layout,
        &gone.service,
        Some(&status),
        "",
        ran.as_secs_f64(),
        restarts,
    )
    .map(Some)
}

fn record_exit(
    layout: &Layout,
    service: &ResolvedService,
    status: Option<&ExitStatus>,
    failure: &str,
    ran: f64,
    restarts: u32,
) -> Result<ExitRecord> {
    let failed = status.is_none_or(|s| !s.success());
    let decision: Decision = exits::decide(service, failed, restarts);
    let lines = output::last_lines(&layout.log_file(&service.name), TAIL);
    let record = ExitRecord::new(
        status,
        failure,
        Duration::from_secs_f64(ran),
        restarts,
        &decision,
        lines,
    );
    {
        let _lock = layout.run_lock()?;
        exits::write(layout, &service.name, &record)?;
    }
    let sentence = record.sentence(&service.name);
    note!("{sentence}");
    exits::note_in_log(layout, &service.name, &sentence);
    Ok(record)
}

/// Starts a service again, unless `down` called it off since it exited (it removed the
/// exit record, under the same lock the start takes).
fn restart(starter: &Starter, layout: &Layout, p: &Pending) -> Result<Option<Started>> {
    let name = &p.service.name;
    let gate = || -> Result<Option<std::fs::File>> {
        let lock = layout.run_lock()?;
        let pending = exits::read(layout, name).is_some_and(|r| r.next == Next::Restarting);
        Ok(pending.then_some(lock))
    };
    let seq = state::next_seq(layout)?;
    match starter.start(&p.service, p.index, seq, p.restarts + 1, &gate) {
        Ok(s) => {
            let _lock = layout.run_lock()?;
            if let Some(mut record) = exits::read(layout, name) {
                record.next = Next::Restarted;
                record.restart_at = None;
                exits::write(layout, name, &record)?;
            }
            exits::note_in_log(layout, name, &format!("{name} restarted (pid {})", s.pid));
            Ok(Some(s))
        }
        Err(err) if err.downcast_ref::<Cancelled>().is_some() => {
            note!("{name}: restart called off (paxx-compose down)");
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

fn delay_of(record: &ExitRecord) -> Duration {
    Duration::from_secs(
        record
            .restart_at
            .map_or(0, |at| at.saturating_sub(record.at)),
    )
}

fn first_line(err: &anyhow::Error) -> String {
    format!("{err:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Stops what this `up` started, last started first.
pub fn stop_all(layout: &Layout, started: &mut Vec<Started>) {
    while let Some(mut service) = started.pop() {
        let killed = start::stop_started(layout, &mut service);
        note!(
            "{}: stopped{}",
            service.name,
            if killed {
                " (killed: it did not stop in time)"
            } else {
                ""
            }
        );
    }
}
