//! Connection timers (the CONNECT deadline, then the keepalive check) on a coarse per-worker
//! wheel, instead of a tokio `Sleep` boxed into every session actor (~128 bytes each).
//!
//! Each worker thread keeps one [`Wheel`]: a slot per connection (the due tick, a "fired" flag
//! and the waker of the connection's driver, 24 bytes) and buckets of slot numbers by due tick.
//! One driver task per thread sleeps until the earliest bucket, marks its slots fired and wakes
//! their connections, which then run their timer logic (`SessionActor::on_connection_timer`).
//! Ticks are [`TICK`] long and due times are rounded up, so a timer never fires early and at
//! most one tick late.
//!
//! [`Wheel`] is pure (no actix, no tokio); the thread-local wheel and its driver task below
//! use tokio's timer for the one `Sleep` per thread.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The wheel's resolution.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// A slot's `due` when it is not armed.
const DISARMED: u32 = 0;

struct Slot<W> {
    /// The tick this slot fires at, or `DISARMED`.
    due: u32,
    fired: bool,
    waker: Option<W>,
}

/// Timers by slot number, fired by tick. `W` is what a fired timer hands back (a waker).
pub struct Wheel<W> {
    slots: Vec<Slot<W>>,
    free: Vec<u32>,
    /// Slot numbers by the tick they were armed for; entries of slots since re-armed or freed
    /// are skipped when their bucket fires.
    buckets: BTreeMap<u32, Vec<u32>>,
}

impl<W> Default for Wheel<W> {
    fn default() -> Self {
        Wheel {
            slots: Vec::new(),
            free: Vec::new(),
            buckets: BTreeMap::new(),
        }
    }
}

impl<W: Clone> Wheel<W> {
    /// A new, disarmed slot.
    pub fn insert(&mut self) -> u32 {
        let slot = Slot {
            due: DISARMED,
            fired: false,
            waker: None,
        };
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Free `slot`: it will not fire, and its waker is dropped.
    pub fn remove(&mut self, slot: u32) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.due = DISARMED;
            s.fired = false;
            s.waker = None;
            self.free.push(slot);
        }
    }

    /// What `slot` hands back when it fires.
    pub fn set_waker(&mut self, slot: u32, waker: W) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.waker = Some(waker);
        }
    }

    /// The waker `slot` holds.
    pub fn waker(&self, slot: u32) -> Option<&W> {
        self.slots.get(slot as usize)?.waker.as_ref()
    }

    /// Arm `slot` for `tick` (at least 1), replacing what it was armed for. True when this is
    /// now the earliest tick of the wheel (the driver must be told).
    pub fn arm(&mut self, slot: u32, tick: u32) -> bool {
        let tick = tick.max(1);
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return false;
        };
        s.due = tick;
        s.fired = false;
        let earliest = self.next_tick().is_none_or(|next| tick < next);
        self.buckets.entry(tick).or_default().push(slot);
        earliest
    }

    /// True (once) if `slot` fired since it was armed.
    pub fn take_fired(&mut self, slot: u32) -> bool {
        self.slots
            .get_mut(slot as usize)
            .is_some_and(|s| std::mem::take(&mut s.fired))
    }

    /// Fire every slot due at or before `now`, handing its waker to `wake`.
    pub fn fire(&mut self, now: u32, mut wake: impl FnMut(W)) {
        while let Some(entry) = self.buckets.first_entry() {
            let tick = *entry.key();
            if tick > now {
                break;
            }
            for slot in entry.remove() {
                let Some(s) = self.slots.get_mut(slot as usize) else {
                    continue;
                };
                if s.due != tick {
                    continue; // re-armed or freed since
                }
                s.due = DISARMED;
                s.fired = true;
                if let Some(waker) = &s.waker {
                    wake(waker.clone());
                }
            }
        }
    }

    /// The earliest tick with something armed (possibly only stale entries).
    pub fn next_tick(&self) -> Option<u32> {
        self.buckets.keys().next().copied()
    }
}

// ---------------------------------------------------------------------------------------
// The wheel of the current worker thread and its driver task.

struct Local {
    wheel: Wheel<Waker>,
    epoch: Instant,
    /// The driver task's waker, while it sleeps.
    driver: Option<Waker>,
    driver_spawned: bool,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local {
        wheel: Wheel::default(),
        epoch: Instant::now(),
        driver: None,
        driver_spawned: false,
    });
}

impl Local {
    /// The first tick at or after `at`.
    fn tick_at(&self, at: Instant) -> u32 {
        let ms = at.saturating_duration_since(self.epoch).as_millis();
        let tick = ms.div_ceil(TICK.as_millis());
        u32::try_from(tick).unwrap_or(u32::MAX)
    }

    /// The tick `now` is in.
    fn tick_now(&self) -> u32 {
        let ms = self.epoch.elapsed().as_millis() / TICK.as_millis();
        u32::try_from(ms).unwrap_or(u32::MAX)
    }
}

/// One connection's timer on its worker thread's wheel. It must stay on the thread that
/// created it (a session actor never moves); dropping it frees the slot.
#[derive(Debug, Default)]
pub(crate) struct ConnTimer {
    /// The slot number plus one; 0 while no slot is taken.
    slot: u32,
}

impl ConnTimer {
    /// Arm the timer for `at`, replacing what it was armed for.
    pub(crate) fn arm(&mut self, at: Instant) {
        let spawn = LOCAL.try_with(|local| {
            let mut local = local.borrow_mut();
            if self.slot == 0 {
                self.slot = local.wheel.insert() + 1;
            }
            let tick = local.tick_at(at);
            if local.wheel.arm(self.slot - 1, tick) {
                if let Some(driver) = local.driver.take() {
                    driver.wake();
                }
            }
            !std::mem::replace(&mut local.driver_spawned, true)
        });
        if spawn == Ok(true) {
            tokio::task::spawn_local(Driver { sleep: None });
        }
    }

    /// Remember the waker of the connection's driver, to be woken when the timer fires.
    pub(crate) fn set_waker(&mut self, waker: &Waker) {
        if self.slot == 0 {
            return;
        }
        let _ = LOCAL.try_with(|local| {
            let mut local = local.borrow_mut();
            let slot = self.slot - 1;
            if !local.wheel.waker(slot).is_some_and(|w| w.will_wake(waker)) {
                local.wheel.set_waker(slot, waker.clone());
            }
        });
    }

    /// True (once) when the timer fired since it was armed.
    pub(crate) fn take_fired(&mut self) -> bool {
        self.slot != 0
            && LOCAL
                .try_with(|local| local.borrow_mut().wheel.take_fired(self.slot - 1))
                .unwrap_or(false)
    }

    /// Free the slot (the connection is gone).
    pub(crate) fn release(&mut self) {
        if self.slot != 0 {
            let slot = std::mem::take(&mut self.slot) - 1;
            let _ = LOCAL.try_with(|local| local.borrow_mut().wheel.remove(slot));
        }
    }
}

impl Drop for ConnTimer {
    fn drop(&mut self) {
        self.release();
    }
}

/// The thread's driver: sleeps until the earliest armed tick, then fires it.
struct Driver {
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Drop for Driver {
    /// The runtime is going away with this task: the next `arm` on this thread (under a new
    /// runtime) spawns a new driver.
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|local| {
            if let Ok(mut local) = local.try_borrow_mut() {
                local.driver_spawned = false;
                local.driver = None;
            }
        });
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut fired = Vec::new();
        loop {
            let next = LOCAL.with(|local| {
                let mut local = local.borrow_mut();
                let now = local.tick_now();
                local.wheel.fire(now, |waker| fired.push(waker));
                local.driver = Some(cx.waker().clone());
                let epoch = local.epoch;
                local.wheel.next_tick().map(|tick| epoch + TICK * tick)
            });
            for waker in fired.drain(..) {
                waker.wake();
            }
            let Some(deadline) = next else {
                self.sleep = None;
                return Poll::Pending; // woken by the next `arm`
            };
            let deadline = tokio::time::Instant::from_std(deadline);
            match &mut self.sleep {
                Some(sleep) if sleep.deadline() == deadline => {}
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            let sleep = self.sleep.as_mut().expect("set just above");
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type W = Wheel<u32>;

    fn fire(wheel: &mut W, now: u32) -> Vec<u32> {
        let mut woken = Vec::new();
        wheel.fire(now, |w| woken.push(w));
        woken.sort_unstable();
        woken
    }

    #[test]
    fn fires_what_is_due_and_nothing_early() {
        let mut wheel = W::default();
        let a = wheel.insert();
        let b = wheel.insert();
        wheel.set_waker(a, 10);
        wheel.set_waker(b, 20);
        assert!(wheel.arm(a, 5));
        assert!(!wheel.arm(b, 7));
        assert_eq!(wheel.next_tick(), Some(5));
        assert_eq!(fire(&mut wheel, 4), Vec::<u32>::new());
        assert!(!wheel.take_fired(a));
        assert_eq!(fire(&mut wheel, 6), [10]);
        assert!(wheel.take_fired(a));
        assert!(!wheel.take_fired(a), "fired is reported once");
        assert_eq!(fire(&mut wheel, 100), [20]);
        assert_eq!(wheel.next_tick(), None);
    }

    #[test]
    fn re_arming_replaces_the_earlier_due_time() {
        let mut wheel = W::default();
        let a = wheel.insert();
        wheel.set_waker(a, 1);
        wheel.arm(a, 3);
        wheel.arm(a, 9);
        assert_eq!(
            fire(&mut wheel, 5),
            Vec::<u32>::new(),
            "the stale entry is skipped"
        );
        assert!(!wheel.take_fired(a));
        assert_eq!(fire(&mut wheel, 9), [1]);
        // an earlier tick is reported as the new earliest
        assert!(wheel.arm(a, 12));
        assert!(wheel.arm(a, 11));
    }

    #[test]
    fn freed_slots_do_not_fire_and_are_reused() {
        let mut wheel = W::default();
        let a = wheel.insert();
        wheel.set_waker(a, 1);
        wheel.arm(a, 2);
        wheel.remove(a);
        assert_eq!(wheel.slots.len(), wheel.free.len(), "no slot in use");
        let b = wheel.insert();
        assert_eq!(a, b, "slot reused");
        assert_eq!(wheel.waker(b), None);
        assert_eq!(fire(&mut wheel, 10), Vec::<u32>::new());
        assert!(!wheel.take_fired(b));
        assert_eq!(wheel.slots.len() - wheel.free.len(), 1);
    }

    #[test]
    fn tick_zero_is_armed_as_tick_one() {
        let mut wheel = W::default();
        let a = wheel.insert();
        wheel.set_waker(a, 3);
        wheel.arm(a, 0);
        assert_eq!(fire(&mut wheel, 0), Vec::<u32>::new());
        assert_eq!(fire(&mut wheel, 1), [3]);
    }

    /// Arms a connection timer 1 ms ahead and waits until it fires; true when it did.
    async fn fires_once_armed(release: bool) -> bool {
        let mut timer = ConnTimer::default();
        timer.arm(Instant::now() + Duration::from_millis(1));
        let fired = std::future::poll_fn(|cx| {
            timer.set_waker(cx.waker());
            if timer.take_fired() {
                Poll::Ready(true)
            } else {
                Poll::Pending
            }
        })
        .await;
        if release {
            timer.release();
        }
        fired
    }

    #[test]
    fn a_conn_timer_fires_through_the_thread_driver() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        assert!(local.block_on(&rt, fires_once_armed(true)));
        drop(local);
        // A later runtime on the same thread gets a driver of its own.
        let local = tokio::task::LocalSet::new();
        assert!(local.block_on(&rt, fires_once_armed(false)));
    }
}
