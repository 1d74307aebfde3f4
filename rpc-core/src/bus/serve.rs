//! A subscription that follows a topic, registered in one call: what a chat
//! room, a price feed or a watched key needs from a router.

use std::sync::Arc;

use super::{follow, Bus};
use crate::protocol::ErrorObject;
use crate::router::{Context, Params, RegisterError, Router};
use crate::session::{PendingSubscription, SinkConfig};

/// The three names of a topic subscription on the wire.
#[derive(Debug, Clone, Copy)]
pub struct TopicMethods<'a> {
    /// The subscribe call.
    pub subscribe: &'a str,
    /// The notification its items come in.
    pub notification: &'a str,
    /// The call that ends it.
    pub unsubscribe: &'a str,
}

/// Registers on `router` a subscription that follows a topic of `bus`:
/// `topic` names the topic from the subscribe call's params (or refuses
/// them); items go out with their positions, and a client that resumes
/// (`rpc.resume`) carries on after its last one.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use wirecall::bus::{self, InProcessBus, TopicMethods};
/// use wirecall::Router;
///
/// let rooms = Arc::new(InProcessBus::default());
/// let mut router = Router::new();
/// let methods = TopicMethods {
///     subscribe: "room_subscribe",
///     notification: "room_event",
///     unsubscribe: "room_unsubscribe",
/// };
/// bus::serve_topic(&mut router, methods, rooms, |params| {
///     let (room,): (String,) = params.parse()?;
///     Ok(format!("room/{room}"))
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn serve_topic<B, F>(
    router: &mut Router,
    methods: TopicMethods<'_>,
    bus: Arc<B>,
    topic: F,
) -> Result<(), RegisterError>
where
    B: Bus + ?Sized + 'static,
    F: Fn(Params<'_>) -> Result<String, ErrorObject> + Send + Sync + 'static,
{
    router.subscription(
        methods.subscribe,
        methods.notification,
        methods.unsubscribe,
        SinkConfig::default(),
        move |params: Params<'_>, _: &Context, pending: PendingSubscription<serde_json::Value>| {
            let topic = topic(params)?;
            let bus = bus.clone();
            Ok(async move { follow(&*bus, &topic, pending).await })
        },
    )?;
    Ok(())
}
