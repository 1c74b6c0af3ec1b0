//! The ledger under out-of-order completion: progress never passes a request in flight.

use super::{Ledger, Released};

fn progress(key: u64, events: u64) -> Released<&'static str> {
    Released::Progress {
        key: Some(key),
        events,
    }
}

#[test]
fn a_later_request_finishing_first_does_not_move_progress() {
    let mut l = Ledger::default();
    l.open("chunk 7", Some(7), 0);
    let a = l.issue(100);
    let b = l.issue(100);
    let c = l.issue(50);
    l.exhaust();
    // The last two finish first: nothing may be recorded, the first is still in flight.
    l.finish(c, 50);
    l.finish(b, 100);
    assert_eq!(l.release(), vec![]);
    assert_eq!(l.unreleased(), 3);
    assert_eq!(l.unfinished_events(None), 100);
    // The first finishes: all three count at once and the chunk is done.
    l.finish(a, 100);
    assert_eq!(l.release(), vec![Released::Done("chunk 7")]);
    assert_eq!(l.unreleased(), 0);
    assert_eq!(l.deliveries(), 0);
}

#[test]
fn progress_counts_only_the_finished_prefix() {
    let mut l = Ledger::default();
    // 30 events were delivered before a restart.
    l.open("chunk 1", Some(1), 30);
    let a = l.issue(10);
    let b = l.issue(10);
    let c = l.issue(10);
    l.finish(a, 10);
    l.finish(c, 10);
    assert_eq!(l.release(), vec![progress(1, 40)]);
    l.finish(b, 10);
    assert_eq!(l.release(), vec![progress(1, 60)]);
    // Not exhausted: more requests may come, so the chunk is not done.
    assert_eq!(l.deliveries(), 1);
    l.exhaust();
    assert_eq!(l.release(), vec![Released::Done("chunk 1")]);
}

#[test]
fn deliveries_are_done_in_order_even_when_a_later_one_finishes_first() {
    let mut l = Ledger::default();
    l.open("first", Some(1), 0);
    let a = l.issue(5);
    l.open("second", Some(2), 0);
    let b = l.issue(5);
    l.exhaust();
    l.finish(b, 5);
    assert_eq!(l.release(), vec![]);
    l.finish(a, 5);
    assert_eq!(
        l.release(),
        vec![Released::Done("first"), Released::Done("second")]
    );
}

#[test]
fn a_retried_request_holds_back_what_follows_until_it_finishes() {
    let mut l = Ledger::default();
    l.open("chunk", Some(3), 0);
    let tickets: Vec<u64> = (0..4).map(|_| l.issue(1)).collect();
    // Ticket 1 is being retried; 0, 2 and 3 finish.
    for &t in &[tickets[0], tickets[2], tickets[3]] {
        l.finish(t, 1);
    }
    assert_eq!(l.release(), vec![progress(3, 1)]);
    assert_eq!(l.release(), vec![]);
    assert_eq!(l.unfinished_events(None), 1);
    l.finish(tickets[1], 1);
    assert_eq!(l.release(), vec![progress(3, 4)]);
}

#[test]
fn a_delivery_without_requests_is_done_once_exhausted_and_first() {
    let mut l = Ledger::default();
    l.open("busy", Some(1), 0);
    let a = l.issue(2);
    l.open("empty", Some(2), 9);
    l.exhaust();
    assert_eq!(l.release(), vec![]);
    assert!(l.current_mut().is_none());
    l.finish(a, 2);
    assert_eq!(
        l.release(),
        vec![Released::Done("busy"), Released::Done("empty")]
    );
}

#[test]
fn a_delivery_done_is_released_before_the_next_ones_progress() {
    let mut l = Ledger::default();
    l.open("first", Some(1), 0);
    let a = l.issue(5);
    l.open("second", Some(2), 0);
    let b = l.issue(5);
    let _c = l.issue(5);
    l.finish(b, 5);
    assert_eq!(l.release(), vec![]);
    l.finish(a, 5);
    assert_eq!(
        l.release(),
        vec![Released::Done("first"), progress(2, 5)],
        "the first chunk is removed before the one progress record names the second"
    );
}
