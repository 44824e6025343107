//! Creates the tables and queues with the keys, index, stream, TTL and redrive that
//! template.yaml declares; used against emulators (`--aws-endpoint`) and in tests.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use mcamp_store::ports::{MAX_RECEIVE_COUNT, QueueId, StoreError, StoreResult, TableId};

use crate::Aws;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn key(name: &str, kind: KeyType) -> StoreResult<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(err)
}

fn attr(name: &str) -> StoreResult<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(err)
}

/// Creates the tables unless they exist.
pub async fn create_tables(aws: &Aws) -> StoreResult<()> {
    for t in TableId::ALL {
        let name = aws.names.table(t).to_owned();
        if aws.ddb.describe_table().table_name(&name).send().await.is_ok() {
            continue;
        }
        let mut req = aws
            .ddb
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(err)?,
            );
        if t == TableId::Main {
            req = req
                .attribute_definitions(attr("gsi1pk")?)
                .attribute_definitions(attr("gsi1sk")?)
                .global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name("gsi1")
                        .key_schema(key("gsi1pk", KeyType::Hash)?)
                        .key_schema(key("gsi1sk", KeyType::Range)?)
                        .projection(Projection::builder().projection_type(ProjectionType::All).build())
                        .build()
                        .map_err(err)?,
                );
        }
        req.send()
            .await
            .map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        aws.ddb
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("ttl")
                    .build()
                    .map_err(err)?,
            )
            .send()
            .await
            .map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    }
    Ok(())
}

/// Creates the queues (`{prefix}-coupon-issue` and `{prefix}-send-message`, each with its DLQ
/// and redrive) and records their URLs.
pub async fn create_queues(aws: &mut Aws, prefix: &str) -> StoreResult<()> {
    for queue in QueueId::ALL {
        if let Some(dlq) = queue.dead_letter() {
            create_queue_pair(aws, prefix, queue, dlq).await?;
        }
    }
    Ok(())
}

/// One queue with its dead-letter queue.
async fn create_queue_pair(aws: &mut Aws, prefix: &str, queue: QueueId, dead_letter: QueueId) -> StoreResult<()> {
    let dlq_name = format!("{prefix}-{}", dead_letter.as_str());
    let dlq = aws
        .sqs
        .create_queue()
        .queue_name(&dlq_name)
        .send()
        .await
        .map_err(|e| err(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    let dlq_url = dlq.queue_url.ok_or_else(|| err("no DLQ URL"))?;
    let attrs = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| err(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    let dlq_arn = attrs
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| err("no DLQ ARN"))?;
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{MAX_RECEIVE_COUNT}"}}"#);
    let q = aws
        .sqs
        .create_queue()
        .queue_name(format!("{prefix}-{}", queue.as_str()))
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await
        .map_err(|e| err(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    aws.set_queue_url(queue, q.queue_url.ok_or_else(|| err("no queue URL"))?);
    aws.set_queue_url(dead_letter, dlq_url);
    Ok(())
}
