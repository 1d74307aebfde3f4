use futures_util::StreamExt;

use super::*;
use crate::bus::publish;

fn epoch_of(bus: &InProcessBus, name: &str) -> Arc<str> {
    bus.with_topic(name, false, |topic| topic.epoch.clone())
        .expect("the topic exists")
}

async fn item_of(stream: &mut TopicStream) -> (String, u64) {
    match stream.next().await {
        Some(BusEvent::Item(item, at)) => (item.get().to_owned(), at.offset),
        other => panic!("expected an item, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_subscriber_is_told_what_it_missed() {
    let bus = InProcessBus::new(2);
    let mut slow = bus.subscribe("t").await.unwrap();
    for n in 0..5 {
        publish(&bus, "t", &n).await.unwrap();
    }
    assert!(matches!(slow.next().await, Some(BusEvent::Lagged(3))));
    assert_eq!(item_of(&mut slow).await, ("3".into(), 4));
    assert_eq!(item_of(&mut slow).await, ("4".into(), 5));
}

#[tokio::test]
async fn one_publish_reaches_every_subscriber_once() {
    let bus = InProcessBus::default();
    let mut a = bus.subscribe("room").await.unwrap();
    let mut b = bus.subscribe("room").await.unwrap();
    let mut other = bus.subscribe("other").await.unwrap();
    publish(&bus, "room", &"hi").await.unwrap();
    for stream in [&mut a, &mut b] {
        assert_eq!(item_of(stream).await, (r#""hi""#.into(), 1));
    }
    drop(bus);
    assert!(a.next().await.is_none());
    assert!(other.next().await.is_none());
}

#[tokio::test]
async fn a_resume_replays_exactly_what_came_after_its_position() {
    let bus = InProcessBus::default();
    for n in 1..=5 {
        publish(&bus, "t", &n).await.unwrap();
    }
    let epoch = bus.subscribe("t").await.unwrap();
    drop(epoch);
    let since = Position {
        epoch: epoch_of(&bus, "t"),
        offset: 3,
    };
    let mut resumed = bus.subscribe_from("t", Some(&since)).await.unwrap();
    assert!(matches!(
        resumed.next().await,
        Some(BusEvent::Resumed(Resume::Exact))
    ));
    publish(&bus, "t", &6).await.unwrap();
    for n in 4..=6 {
        assert_eq!(item_of(&mut resumed).await, (n.to_string(), n));
    }
}

#[tokio::test]
async fn a_resume_past_history_reports_the_exact_gap() {
    let bus = InProcessBus::default().with_history(2, Duration::from_secs(60));
    for n in 1..=10 {
        publish(&bus, "t", &n).await.unwrap();
    }
    let since = Position {
        epoch: epoch_of(&bus, "t"),
        offset: 4,
    };
    let mut resumed = bus.subscribe_from("t", Some(&since)).await.unwrap();
    // 5..=8 are gone; 9 and 10 are kept.
    assert!(matches!(
        resumed.next().await,
        Some(BusEvent::Resumed(Resume::Gap(4)))
    ));
    assert_eq!(item_of(&mut resumed).await, ("9".into(), 9));
    assert_eq!(item_of(&mut resumed).await, ("10".into(), 10));
}

#[tokio::test]
async fn another_epoch_is_a_reset_then_all_the_topic_holds() {
    let bus = InProcessBus::default();
    publish(&bus, "t", &1).await.unwrap();
    let since = Position {
        epoch: Arc::from("an epoch of another bus"),
        offset: 1,
    };
    let mut resumed = bus.subscribe_from("t", Some(&since)).await.unwrap();
    assert!(matches!(
        resumed.next().await,
        Some(BusEvent::Resumed(Resume::Reset))
    ));
    assert_eq!(item_of(&mut resumed).await, ("1".into(), 1));
    publish(&bus, "t", &2).await.unwrap();
    assert_eq!(item_of(&mut resumed).await, ("2".into(), 2));
}

#[tokio::test]
async fn forgotten_topics_are_swept() {
    let bus = InProcessBus::default().with_history(4, Duration::ZERO);
    for n in 0..SWEEP_EVERY {
        publish(&bus, &format!("t{n}"), &n).await.unwrap();
    }
    assert!(bus.topic_count() <= 1, "{} topics held", bus.topic_count());
}
