//! `JobQueue` over SQS.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use mcamp_store::ports::{JobQueue, QueueId, Received, StoreError, StoreResult};

use crate::Aws;

fn map_err<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some(code) => StoreError::Backend(format!("{code}: {}", e.message().unwrap_or_default())),
        None => StoreError::Backend(format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e))),
    }
}

impl Aws {
    fn queue_url(&self, q: QueueId) -> StoreResult<&str> {
        self.names
            .queues
            .get(&q)
            .map(String::as_str)
            .ok_or_else(|| StoreError::Backend(format!("no URL configured for queue {}", q.as_str())))
    }
}

fn secs(d: Duration) -> i32 {
    d.as_secs().min(43_200) as i32
}

#[async_trait]
impl JobQueue for Aws {
    async fn send(&self, queue: QueueId, body: String) -> StoreResult<String> {
        let out = self
            .sqs
            .send_message()
            .queue_url(self.queue_url(queue)?)
            .message_body(body)
            .send()
            .await
            .map_err(map_err)?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn receive(
        &self,
        queue: QueueId,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> StoreResult<Vec<Received>> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(self.queue_url(queue)?)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(secs(visibility))
            .wait_time_seconds(secs(wait).min(20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(map_err)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                Some(Received {
                    message_id: m.message_id?,
                    receipt: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect())
    }

    async fn ack(&self, queue: QueueId, receipt: &str) -> StoreResult<()> {
        self.sqs
            .delete_message()
            .queue_url(self.queue_url(queue)?)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn retry_later(&self, queue: QueueId, receipt: &str, delay: Duration) -> StoreResult<()> {
        self.sqs
            .change_message_visibility()
            .queue_url(self.queue_url(queue)?)
            .receipt_handle(receipt)
            .visibility_timeout(secs(delay))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn depth(&self, queue: QueueId) -> StoreResult<usize> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(self.queue_url(queue)?)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(map_err)?;
        let attrs = out.attributes.unwrap_or_default();
        let n = |k: QueueAttributeName| attrs.get(&k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        Ok(n(QueueAttributeName::ApproximateNumberOfMessages)
            + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }
}
