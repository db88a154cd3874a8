//! Retained messages (the locks' configurations) kept in memory. rmqtt's
//! core leaves retained messages to a plugin; this is the in-memory store
//! it ships, kept without expiry: a configuration stays until replaced.
//! Only the gateway may retain (see `rules`), one message per lock.

use async_trait::async_trait;
use rmqtt::retain::{DefaultRetainStorage, RetainStorage};
use rmqtt::types::{Retain, TopicFilter, TopicName};
use std::time::Duration;

#[derive(Default)]
pub struct InMemory(DefaultRetainStorage);

#[async_trait]
impl RetainStorage for InMemory {
    fn enable(&self) -> bool {
        true
    }

    async fn set(
        &self,
        topic: &TopicName,
        retain: Retain,
        _expiry_interval: Option<Duration>,
    ) -> rmqtt::Result<()> {
        self.0.set_with_timeout(topic, retain, None).await
    }

    async fn get(&self, topic_filter: &TopicFilter) -> rmqtt::Result<Vec<(TopicName, Retain)>> {
        self.0.get_message(topic_filter).await
    }

    async fn count(&self) -> isize {
        RetainStorage::count(&self.0).await
    }

    async fn max(&self) -> isize {
        RetainStorage::max(&self.0).await
    }
}
