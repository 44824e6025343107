//! The DynamoDB Streams reader (feature `streams`): the tests read a table's change stream
//! through it. Deployed functions never do (the stream reaches Lambda through an event source
//! mapping), so the Streams client stays out of their binaries.

use async_trait::async_trait;
use mcamp_store::ports::{ChangeFeed, ChangeKind, ChangeRecord, Item, Key, StoreError, StoreResult, TableId};

use crate::Aws;
use crate::dynamo::map_err;

#[async_trait]
impl ChangeFeed for Aws {
    async fn changes(&self, table: TableId, after: Option<&str>, limit: usize) -> StoreResult<Vec<ChangeRecord>> {
        let desc = self
            .ddb
            .describe_table()
            .table_name(self.names.table(table))
            .send()
            .await
            .map_err(map_err)?;
        let Some(arn) = desc.table.and_then(|t| t.latest_stream_arn) else {
            return Err(StoreError::Backend("table has no stream".into()));
        };
        let stream = self
            .streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .map_err(map_err)?;
        let shards = stream.stream_description.and_then(|d| d.shards).unwrap_or_default();
        let mut out = Vec::new();
        for shard in shards {
            let Some(shard_id) = shard.shard_id else {
                continue;
            };
            let it = self
                .streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard_id)
                .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(map_err)?;
            let mut iterator = it.shard_iterator;
            // Read the shard to its current end: an empty page means caught up.
            while let Some(i) = iterator.take() {
                let page = self
                    .streams
                    .get_records()
                    .shard_iterator(i)
                    .limit(1000)
                    .send()
                    .await
                    .map_err(map_err)?;
                let records = page.records.unwrap_or_default();
                if records.is_empty() {
                    break;
                }
                for r in records {
                    if let Some(c) = change_record(r)?
                        && after.is_none_or(|a| c.sequence.as_str() > a)
                    {
                        out.push(c);
                    }
                }
                iterator = page.next_shard_iterator;
            }
        }
        out.sort_by(|a, b| a.sequence.cmp(&b.sequence));
        out.truncate(limit);
        Ok(out)
    }
}

fn change_record(r: aws_sdk_dynamodbstreams::types::Record) -> StoreResult<Option<ChangeRecord>> {
    use aws_sdk_dynamodbstreams::types::OperationType;
    let Some(data) = r.dynamodb else {
        return Ok(None);
    };
    let kind = match r.event_name {
        Some(OperationType::Insert) => ChangeKind::Insert,
        Some(OperationType::Modify) => ChangeKind::Modify,
        Some(OperationType::Remove) => ChangeKind::Remove,
        _ => return Ok(None),
    };
    let keys: Item = serde_dynamo::from_item(data.keys.unwrap_or_default())
        .map_err(|e| StoreError::Backend(format!("stream keys: {e}")))?;
    let Some(key) = Key::of(&keys) else {
        return Ok(None);
    };
    let new_image = data
        .new_image
        .map(serde_dynamo::from_item::<_, Item>)
        .transpose()
        .map_err(|e| StoreError::Backend(format!("stream image: {e}")))?;
    // Sequence numbers are decimal strings of varying length; pad so they sort as numbers.
    let seq = data.sequence_number.unwrap_or_default();
    Ok(Some(ChangeRecord {
        sequence: format!("{seq:0>40}"),
        kind,
        key,
        new_image,
    }))
}
