//! `Table` over DynamoDB and DynamoDB Streams.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue, TransactWriteItem,
    Update as DdbUpdate, WriteRequest,
};
use mcamp_store::ports::{
    Cond, Index, Item, Key, Page, Query, SortKey, StoreError, StoreResult, Table, TableId, TxWrite, Update,
};

use crate::Aws;
use crate::expr::Expr;

type Av = HashMap<String, AttributeValue>;

fn to_av(item: &Item) -> StoreResult<Av> {
    serde_dynamo::to_item(item).map_err(|e| StoreError::Invalid(format!("item: {e}")))
}

fn from_av(av: Av) -> StoreResult<Item> {
    serde_dynamo::from_item(av).map_err(|e| StoreError::Backend(format!("reading item: {e}")))
}

fn key_av(key: &Key) -> Av {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
        ("sk".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// Maps an SDK error to the port's error, keeping the cancellation reasons of a transaction.
pub(crate) fn map_err<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().unwrap_or_default().to_owned();
    let message = e.message().unwrap_or_default().to_owned();
    match code.as_str() {
        "ConditionalCheckFailedException" => StoreError::ConditionFailed,
        "TransactionCanceledException" => StoreError::TransactionCancelled {
            reasons: parse_reasons(&message),
        },
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TransactionConflictException" => StoreError::Throttled(format!("{code}: {message}")),
        "ValidationException" => StoreError::Invalid(message),
        "" => StoreError::Backend(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&e))),
        _ => StoreError::Backend(format!("{code}: {message}")),
    }
}

/// Only failed conditions make a cancelled transaction a `TransactionCancelled`: a conflict
/// with a concurrent transaction (the coupon stock counter is one hot item) or throttling must
/// be retried, never read as "the condition did not hold" (that would call stock sold out).
fn cancelled(reasons: Vec<Option<String>>) -> StoreError {
    let other = reasons
        .iter()
        .flatten()
        .find(|c| c.as_str() != "ConditionalCheckFailed");
    match other {
        None => StoreError::TransactionCancelled { reasons },
        Some(code) if code == "TransactionConflict" || code.contains("Throughput") || code.contains("Throttl") => {
            StoreError::Throttled(format!("transaction cancelled: {code}"))
        }
        Some(code) => StoreError::Backend(format!("transaction cancelled: {code}")),
    }
}

/// `Transaction cancelled, please refer cancellation reasons for specific reasons
/// [None, ConditionalCheckFailed]`: the bracketed list is in write order.
fn parse_reasons(message: &str) -> Vec<Option<String>> {
    let Some(start) = message.find('[') else {
        return Vec::new();
    };
    let end = message[start..].find(']').map_or(message.len(), |e| start + e);
    message[start + 1..end]
        .split(',')
        .map(|s| s.trim())
        .map(|s| {
            if s == "None" || s.is_empty() {
                None
            } else {
                Some(s.to_owned())
            }
        })
        .collect()
}

impl Aws {
    fn cond_parts(&self, cond: Option<&Cond>) -> StoreResult<(Option<String>, Expr)> {
        let mut ex = Expr::default();
        let c = cond.map(|c| ex.condition(c)).transpose()?;
        Ok((c, ex))
    }

    fn tx_item(&self, w: &TxWrite) -> StoreResult<TransactWriteItem> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        Ok(match w {
            TxWrite::Put { table, item, cond } => {
                let (c, ex) = self.cond_parts(cond.as_ref())?;
                let put = Put::builder()
                    .table_name(self.names.table(*table))
                    .set_item(Some(to_av(item)?))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(ex.names_opt())
                    .set_expression_attribute_values(ex.values_opt())
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().put(put).build()
            }
            TxWrite::Update {
                table,
                key,
                update,
                cond,
            } => {
                let mut ex = Expr::default();
                let u = ex.update(update)?;
                let c = cond.as_ref().map(|c| ex.condition(c)).transpose()?;
                let up = DdbUpdate::builder()
                    .table_name(self.names.table(*table))
                    .set_key(Some(key_av(key)))
                    .update_expression(u)
                    .set_condition_expression(c)
                    .set_expression_attribute_names(ex.names_opt())
                    .set_expression_attribute_values(ex.values_opt())
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().update(up).build()
            }
            TxWrite::Delete { table, key, cond } => {
                let (c, ex) = self.cond_parts(cond.as_ref())?;
                let d = Delete::builder()
                    .table_name(self.names.table(*table))
                    .set_key(Some(key_av(key)))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(ex.names_opt())
                    .set_expression_attribute_values(ex.values_opt())
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().delete(d).build()
            }
            TxWrite::Check { table, key, cond } => {
                let mut ex = Expr::default();
                let c = ex.condition(cond)?;
                let chk = ConditionCheck::builder()
                    .table_name(self.names.table(*table))
                    .set_key(Some(key_av(key)))
                    .condition_expression(c)
                    .set_expression_attribute_names(ex.names_opt())
                    .set_expression_attribute_values(ex.values_opt())
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().condition_check(chk).build()
            }
        })
    }
}

#[async_trait]
impl Table for Aws {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        let out = self
            .ddb
            .get_item()
            .table_name(self.names.table(table))
            .set_key(Some(key_av(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        out.item.map(from_av).transpose()
    }

    async fn get_many(&self, table: TableId, keys: &[Key]) -> StoreResult<Vec<Item>> {
        if keys.len() > 100 {
            return Err(StoreError::Invalid("at most 100 keys per read".into()));
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let name = self.names.table(table).to_owned();
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(keys.iter().map(key_av).collect()))
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut items = Vec::new();
        for attempt in 0..8u32 {
            let out = self
                .ddb
                .batch_get_item()
                .request_items(name.clone(), pending.clone())
                .send()
                .await
                .map_err(map_err)?;
            for av in out.responses.unwrap_or_default().remove(&name).unwrap_or_default() {
                items.push(from_av(av)?);
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&name)) {
                Some(rest) if !rest.keys.is_empty() => {
                    pending = rest;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                _ => return Ok(items),
            }
        }
        Err(StoreError::Throttled("unprocessed keys after retries".into()))
    }

    async fn put(&self, table: TableId, item: Item, cond: Option<Cond>) -> StoreResult<()> {
        let (c, ex) = self.cond_parts(cond.as_ref())?;
        self.ddb
            .put_item()
            .table_name(self.names.table(table))
            .set_item(Some(to_av(&item)?))
            .set_condition_expression(c)
            .set_expression_attribute_names(ex.names_opt())
            .set_expression_attribute_values(ex.values_opt())
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn update(&self, table: TableId, key: &Key, update: Update, cond: Option<Cond>) -> StoreResult<Item> {
        let mut ex = Expr::default();
        let u = ex.update(&update)?;
        let c = cond.as_ref().map(|c| ex.condition(c)).transpose()?;
        let out = self
            .ddb
            .update_item()
            .table_name(self.names.table(table))
            .set_key(Some(key_av(key)))
            .update_expression(u)
            .set_condition_expression(c)
            .set_expression_attribute_names(ex.names_opt())
            .set_expression_attribute_values(ex.values_opt())
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(map_err)?;
        from_av(out.attributes.unwrap_or_default())
    }

    async fn delete(&self, table: TableId, key: &Key, cond: Option<Cond>) -> StoreResult<()> {
        let (c, ex) = self.cond_parts(cond.as_ref())?;
        self.ddb
            .delete_item()
            .table_name(self.names.table(table))
            .set_key(Some(key_av(key)))
            .set_condition_expression(c)
            .set_expression_attribute_names(ex.names_opt())
            .set_expression_attribute_values(ex.values_opt())
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn transact(&self, writes: Vec<TxWrite>) -> StoreResult<()> {
        if writes.is_empty() || writes.len() > 100 {
            return Err(StoreError::Invalid("a transaction has 1 to 100 writes".into()));
        }
        let items = writes.iter().map(|w| self.tx_item(w)).collect::<Result<Vec<_>, _>>()?;
        match self
            .ddb
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
                // Prefer the structured reasons; fall back to the message's list.
                if let Some(TransactWriteItemsError::TransactionCanceledException(t)) = e.as_service_error() {
                    let rs = t.cancellation_reasons();
                    if !rs.is_empty() {
                        let reasons: Vec<Option<String>> = rs
                            .iter()
                            .map(|r| r.code().filter(|c| *c != "None").map(str::to_owned))
                            .collect();
                        return Err(cancelled(reasons));
                    }
                }
                Err(map_err(e))
            }
        }
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        let (pk_attr, sk_attr, index) = match q.index {
            Index::Primary => ("pk", "sk", None),
            Index::Gsi1 => ("gsi1pk", "gsi1sk", Some("gsi1")),
        };
        let mut names = HashMap::from([("#p".to_owned(), pk_attr.to_owned())]);
        let mut values = HashMap::from([(":p".to_owned(), AttributeValue::S(q.partition.clone()))]);
        let mut cond = "#p = :p".to_owned();
        match &q.sort {
            SortKey::Any => {}
            SortKey::Prefix(p) => {
                names.insert("#s".into(), sk_attr.into());
                values.insert(":s".into(), AttributeValue::S(p.clone()));
                cond.push_str(" AND begins_with(#s, :s)");
            }
            SortKey::Between(a, b) => {
                names.insert("#s".into(), sk_attr.into());
                values.insert(":a".into(), AttributeValue::S(a.clone()));
                values.insert(":b".into(), AttributeValue::S(b.clone()));
                cond.push_str(" AND #s BETWEEN :a AND :b");
            }
        }
        let start = q.after.as_ref().map(to_av).transpose()?;
        let out = self
            .ddb
            .query()
            .table_name(self.names.table(q.table))
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression(cond)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(q.forward)
            .set_limit(q.limit.map(|l| l.min(i32::MAX as usize) as i32))
            .set_exclusive_start_key(start)
            .consistent_read(index.is_none())
            .send()
            .await
            .map_err(map_err)?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_av)
            .collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .map(from_av)
            .transpose()?;
        Ok(Page { items, next })
    }

    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()> {
        let name = self.names.table(table).to_owned();
        for chunk in items.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|i| {
                    let put = PutRequest::builder()
                        .set_item(Some(to_av(i)?))
                        .build()
                        .map_err(|e| StoreError::Invalid(e.to_string()))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let mut attempt = 0u32;
            loop {
                let out = self
                    .ddb
                    .batch_write_item()
                    .request_items(name.clone(), requests.clone())
                    .send()
                    .await
                    .map_err(map_err)?;
                match out.unprocessed_items.and_then(|mut u| u.remove(&name)) {
                    Some(rest) if !rest.is_empty() => {
                        if attempt >= 10 {
                            return Err(StoreError::Throttled(format!(
                                "{} items unprocessed after retries",
                                rest.len()
                            )));
                        }
                        requests = rest;
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }
}

/// Exponential backoff with full jitter, 25 ms base, capped at 2 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let cap = 25u64.saturating_mul(1 << attempt.min(6)).min(2000);
    Duration::from_millis(rand::thread_rng().gen_range(cap / 2..=cap))
}

#[cfg(test)]
mod tests {
    use super::parse_reasons;

    #[test]
    fn conflicts_are_retryable_not_failed_conditions() {
        use mcamp_store::ports::StoreError;
        let r = super::cancelled(vec![
            Some("TransactionConflict".into()),
            Some("ConditionalCheckFailed".into()),
        ]);
        assert!(matches!(r, StoreError::Throttled(_)), "{r:?}");
        let r = super::cancelled(vec![None, Some("ConditionalCheckFailed".into())]);
        assert!(matches!(r, StoreError::TransactionCancelled { .. }), "{r:?}");
    }

    #[test]
    fn cancellation_reasons_keep_their_positions() {
        let m = "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]";
        assert_eq!(parse_reasons(m), vec![None, Some("ConditionalCheckFailed".to_owned())]);
    }
}
