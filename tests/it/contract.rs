//! The contract suite over the storage and queue ports, run against both backends:
//! the embedded one and DynamoDB/SQS over the wire (moto server).

use std::time::Duration;

use anyhow::{Context, ensure};
use mcamp_store::ports::{
    ChangeKind, Cond, Item, Key, MAX_RECEIVE_COUNT, Query, QueueId, SortKey, StoreError, TableId, TxWrite, Update,
};
use mcamp_tests::{Backend, contract};
use serde_json::{Value, json};

fn item(v: Value) -> anyhow::Result<Item> {
    match v {
        Value::Object(m) => Ok(m),
        _ => anyhow::bail!("not an object"),
    }
}

async fn conditional_put_conflict(b: Backend) -> anyhow::Result<()> {
    let t = &b.table;
    t.put(
        TableId::Main,
        item(json!({"pk": "LINK#a", "sk": "LINK", "owner": "first"}))?,
        Some(Cond::NotExists),
    )
    .await?;
    let second = t
        .put(
            TableId::Main,
            item(json!({"pk": "LINK#a", "sk": "LINK", "owner": "second"}))?,
            Some(Cond::NotExists),
        )
        .await;
    ensure!(
        matches!(second, Err(StoreError::ConditionFailed)),
        "{}: second put must fail, got {second:?}",
        b.name
    );
    let got = t
        .get(TableId::Main, &Key::new("LINK#a", "LINK"))
        .await?
        .context("item")?;
    ensure!(got["owner"] == "first", "the first write stays: {got:?}");
    // A condition on an attribute value.
    let r = t
        .put(
            TableId::Main,
            item(json!({"pk": "LINK#a", "sk": "LINK", "owner": "third"}))?,
            Some(Cond::Eq("owner".into(), json!("nobody"))),
        )
        .await;
    ensure!(matches!(r, Err(StoreError::ConditionFailed)), "{r:?}");
    t.put(
        TableId::Main,
        item(json!({"pk": "LINK#a", "sk": "LINK", "owner": "fourth"}))?,
        Some(Cond::Eq("owner".into(), json!("first"))),
    )
    .await?;
    // Conditional delete.
    let d = t
        .delete(
            TableId::Main,
            &Key::new("LINK#a", "LINK"),
            Some(Cond::Eq("owner".into(), json!("first"))),
        )
        .await;
    ensure!(matches!(d, Err(StoreError::ConditionFailed)), "{d:?}");
    t.delete(TableId::Main, &Key::new("LINK#a", "LINK"), Some(Cond::Exists))
        .await?;
    ensure!(t.get(TableId::Main, &Key::new("LINK#a", "LINK")).await?.is_none());
    Ok(())
}
contract!(conditional_put, super::conditional_put_conflict);

async fn atomic_counter(b: Backend) -> anyhow::Result<()> {
    let key = Key::new("COUNTER#x", "C");
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let t = b.table.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            t.update(TableId::Main, &key, Update::new().add("n", 1), None).await
        }));
    }
    for task in tasks {
        task.await??;
    }
    let got = b.table.get(TableId::Main, &key).await?.context("counter")?;
    ensure!(
        got["n"].as_i64() == Some(40),
        "{}: 40 concurrent adds give 40, got {got:?}",
        b.name
    );
    // A cap held in the item itself, as the coupon stock counter holds `stock`.
    b.table
        .update(TableId::Main, &key, Update::new().set("cap", 41), None)
        .await?;
    b.table
        .update(
            TableId::Main,
            &key,
            Update::new().add("n", 1),
            Some(Cond::LtAttr("n".into(), "cap".into())),
        )
        .await?;
    let over = b
        .table
        .update(
            TableId::Main,
            &key,
            Update::new().add("n", 1),
            Some(Cond::LtAttr("n".into(), "cap".into())),
        )
        .await;
    ensure!(
        matches!(over, Err(StoreError::ConditionFailed)),
        "{}: n < cap refused at the cap: {over:?}",
        b.name
    );
    b.table
        .update(TableId::Main, &key, Update::new().add("n", -1), None)
        .await?;
    // A capped counter: the condition refuses the add past the cap and changes nothing.
    let capped = b
        .table
        .update(
            TableId::Main,
            &key,
            Update::new().add("n", 1),
            Some(Cond::Lt("n".into(), 40)),
        )
        .await;
    ensure!(matches!(capped, Err(StoreError::ConditionFailed)), "{capped:?}");
    let after = b
        .table
        .update(
            TableId::Main,
            &key,
            Update::new().set_if_missing("first", "a").set("last", "b"),
            None,
        )
        .await?;
    ensure!(
        after["n"].as_i64() == Some(40) && after["first"] == "a" && after["last"] == "b",
        "{after:?}"
    );
    let again = b
        .table
        .update(
            TableId::Main,
            &key,
            Update::new().set_if_missing("first", "z").remove("last"),
            None,
        )
        .await?;
    ensure!(again["first"] == "a" && !again.contains_key("last"), "{again:?}");
    Ok(())
}
contract!(counter, super::atomic_counter);

async fn transaction_all_or_nothing(b: Backend) -> anyhow::Result<()> {
    let t = &b.table;
    t.put(TableId::Main, item(json!({"pk": "STOCK", "sk": "S", "left": 1}))?, None)
        .await?;
    t.put(TableId::Main, item(json!({"pk": "CLAIM#r1", "sk": "C"}))?, None)
        .await?;
    // The second write's condition fails, so the first must not apply either.
    let r = t
        .transact(vec![
            TxWrite::Update {
                table: TableId::Main,
                key: Key::new("STOCK", "S"),
                update: Update::new().add("left", -1),
                cond: Some(Cond::Ge("left".into(), 1)),
            },
            TxWrite::Put {
                table: TableId::Main,
                item: item(json!({"pk": "CLAIM#r1", "sk": "C", "again": true}))?,
                cond: Some(Cond::NotExists),
            },
            TxWrite::Put {
                table: TableId::Events,
                item: item(json!({"pk": "EV", "sk": "1"}))?,
                cond: None,
            },
        ])
        .await;
    match r {
        Err(StoreError::TransactionCancelled { reasons }) => {
            ensure!(reasons.len() == 3, "{}: one reason per write: {reasons:?}", b.name);
            ensure!(
                reasons[0].is_none() && reasons[1].is_some() && reasons[2].is_none(),
                "{reasons:?}"
            );
        }
        other => anyhow::bail!("{}: expected a cancelled transaction, got {other:?}", b.name),
    }
    let stock = t.get(TableId::Main, &Key::new("STOCK", "S")).await?.context("stock")?;
    ensure!(stock["left"].as_i64() == Some(1), "stock untouched: {stock:?}");
    ensure!(
        t.get(TableId::Events, &Key::new("EV", "1")).await?.is_none(),
        "event not written"
    );
    // And the same transaction for a new claimant commits every write.
    t.transact(vec![
        TxWrite::Update {
            table: TableId::Main,
            key: Key::new("STOCK", "S"),
            update: Update::new().add("left", -1),
            cond: Some(Cond::Ge("left".into(), 1)),
        },
        TxWrite::Put {
            table: TableId::Main,
            item: item(json!({"pk": "CLAIM#r2", "sk": "C"}))?,
            cond: Some(Cond::NotExists),
        },
        TxWrite::Check {
            table: TableId::Main,
            key: Key::new("CLAIM#r1", "C"),
            cond: Cond::Exists,
        },
    ])
    .await?;
    let stock = t.get(TableId::Main, &Key::new("STOCK", "S")).await?.context("stock")?;
    ensure!(stock["left"].as_i64() == Some(0), "{stock:?}");
    ensure!(t.get(TableId::Main, &Key::new("CLAIM#r2", "C")).await?.is_some());
    Ok(())
}
contract!(transaction, super::transaction_all_or_nothing);

async fn index_and_partition_queries(b: Backend) -> anyhow::Result<()> {
    let t = &b.table;
    let mut items = Vec::new();
    for i in 0..30 {
        let shard = i % 2;
        items.push(item(json!({
            "pk": format!("RCPT#{i:03}"), "sk": "PROFILE",
            "gsi1pk": format!("CAMP#c1#R#{shard}"), "gsi1sk": format!("{i:03}"), "n": i
        }))?);
        items.push(item(json!({"pk": "CAMP#c1", "sk": format!("EV#{i:03}"), "n": i}))?);
    }
    t.put_many(TableId::Main, items).await?;
    // Index: shard 0 holds the even numbers, read in pages of 4.
    let mut q = Query::gsi1(TableId::Main, "CAMP#c1#R#0").limit(4);
    let mut seen = Vec::new();
    loop {
        let page = t.query(&q).await?;
        seen.extend(page.items.iter().filter_map(|i| i["n"].as_i64()));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    ensure!(
        seen == (0..30).step_by(2).collect::<Vec<i64>>(),
        "{}: gsi pages: {seen:?}",
        b.name
    );
    // Primary key: sort-key prefix and range, backwards.
    let page = t
        .query(&Query::partition(TableId::Main, "CAMP#c1").prefix("EV#02").backward())
        .await?;
    let ns: Vec<i64> = page.items.iter().filter_map(|i| i["n"].as_i64()).collect();
    ensure!(ns == (20..30).rev().collect::<Vec<i64>>(), "prefix backward: {ns:?}");
    let mut between = Query::partition(TableId::Main, "CAMP#c1");
    between.sort = SortKey::Between("EV#005".into(), "EV#007".into());
    let ns: Vec<i64> = t
        .query(&between)
        .await?
        .items
        .iter()
        .filter_map(|i| i["n"].as_i64())
        .collect();
    ensure!(ns == vec![5, 6, 7], "between: {ns:?}");
    let keys: Vec<Key> = (0..3)
        .map(|i| Key::new(format!("RCPT#{i:03}"), "PROFILE"))
        .chain([Key::new("RCPT#999", "PROFILE")])
        .collect();
    let got = t.get_many(TableId::Main, &keys).await?;
    ensure!(got.len() == 3, "get_many skips the missing key: {}", got.len());
    // The same key twice in one batch is refused, as DynamoDB does.
    let twice = [keys[0].clone(), keys[0].clone()];
    let r = t.get_many(TableId::Main, &twice).await;
    ensure!(matches!(r, Err(StoreError::Invalid(_))), "{}: {r:?}", b.name);
    Ok(())
}
contract!(queries, super::index_and_partition_queries);

async fn stream_records_for_writes(b: Backend) -> anyhow::Result<()> {
    let t = &b.table;
    t.put(
        TableId::Events,
        item(json!({"pk": "EV#c1#00", "sk": "2026-01-01#a", "type": "click"}))?,
        None,
    )
    .await?;
    t.put(
        TableId::Events,
        item(json!({"pk": "EV#c1#00", "sk": "2026-01-01#a", "type": "click", "v": 2}))?,
        None,
    )
    .await?;
    t.delete(TableId::Events, &Key::new("EV#c1#00", "2026-01-01#a"), None)
        .await?;
    let records = b.feed.changes(TableId::Events, None, 100).await?;
    let kinds: Vec<ChangeKind> = records.iter().map(|r| r.kind).collect();
    ensure!(
        kinds == vec![ChangeKind::Insert, ChangeKind::Modify, ChangeKind::Remove],
        "{}: {kinds:?}",
        b.name
    );
    let first = &records[0];
    ensure!(first.key == Key::new("EV#c1#00", "2026-01-01#a"));
    ensure!(
        first.new_image.as_ref().is_some_and(|i| i["type"] == "click"),
        "{first:?}"
    );
    // Reading after a sequence number returns only later records.
    let later = b.feed.changes(TableId::Events, Some(&records[0].sequence), 100).await?;
    ensure!(later.len() == 2, "{later:?}");
    Ok(())
}
contract!(stream, super::stream_records_for_writes);

async fn queue_send_receive_ack(b: Backend) -> anyhow::Result<()> {
    let q = &b.queue;
    let id = q.send(QueueId::CouponIssue, r#"{"job":1}"#.into()).await?;
    let got = q
        .receive(
            QueueId::CouponIssue,
            10,
            Duration::from_secs(30),
            Duration::from_secs(1),
        )
        .await?;
    ensure!(
        got.len() == 1 && got[0].message_id == id && got[0].body == r#"{"job":1}"# && got[0].receive_count == 1,
        "{}: {got:?}",
        b.name
    );
    // In flight: not delivered again.
    let none = q
        .receive(QueueId::CouponIssue, 10, Duration::from_secs(30), Duration::ZERO)
        .await?;
    ensure!(none.is_empty(), "hidden while in flight: {none:?}");
    q.ack(QueueId::CouponIssue, &got[0].receipt).await?;
    ensure!(q.depth(QueueId::CouponIssue).await? == 0, "acked message is gone");
    Ok(())
}
contract!(queue_basic, super::queue_send_receive_ack);

async fn queue_redelivery_after_visibility_timeout(b: Backend) -> anyhow::Result<()> {
    let q = &b.queue;
    q.send(QueueId::CouponIssue, "again".into()).await?;
    let first = q
        .receive(QueueId::CouponIssue, 1, Duration::from_secs(1), Duration::from_secs(1))
        .await?;
    ensure!(first.len() == 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = q
        .receive(QueueId::CouponIssue, 1, Duration::from_secs(30), Duration::from_secs(2))
        .await?;
    ensure!(
        second.len() == 1 && second[0].body == "again" && second[0].receive_count == 2,
        "{}: {second:?}",
        b.name
    );
    // retry_later makes it visible again at once.
    q.retry_later(QueueId::CouponIssue, &second[0].receipt, Duration::ZERO)
        .await?;
    let third = q
        .receive(QueueId::CouponIssue, 1, Duration::from_secs(30), Duration::from_secs(2))
        .await?;
    ensure!(third.len() == 1 && third[0].receive_count == 3, "{third:?}");
    Ok(())
}
contract!(queue_redelivery, super::queue_redelivery_after_visibility_timeout);

async fn queue_dead_letter_after_max_receives(b: Backend) -> anyhow::Result<()> {
    let q = &b.queue;
    q.send(QueueId::CouponIssue, "poison".into()).await?;
    for n in 1..=MAX_RECEIVE_COUNT {
        let got = q
            .receive(QueueId::CouponIssue, 1, Duration::ZERO, Duration::from_secs(2))
            .await?;
        ensure!(
            got.len() == 1 && got[0].receive_count == n,
            "{}: receive {n}: {got:?}",
            b.name
        );
    }
    // One more attempt moves it to the dead-letter queue instead of delivering it.
    let none = q
        .receive(QueueId::CouponIssue, 1, Duration::ZERO, Duration::from_millis(500))
        .await?;
    ensure!(
        none.is_empty(),
        "{}: after {MAX_RECEIVE_COUNT} receives: {none:?}",
        b.name
    );
    let dead = q
        .receive(
            QueueId::CouponIssueDlq,
            1,
            Duration::from_secs(30),
            Duration::from_secs(2),
        )
        .await?;
    ensure!(
        dead.len() == 1 && dead[0].body == "poison",
        "{}: in the DLQ: {dead:?}",
        b.name
    );
    Ok(())
}
contract!(queue_dead_letter, super::queue_dead_letter_after_max_receives);

/// The fault layer the suites run under keeps the contract real DynamoDB keeps: a throttled
/// call or a conflicting transaction wrote nothing, a timed-out write may have landed, and
/// every fault is counted. Checked item by item against the backend underneath, on both.
async fn faults_keep_the_contract(b: Backend) -> anyhow::Result<()> {
    use mcamp_store::ports::Table as _;
    use mcamp_tests::faults::{Faults, FaultyTable};
    let faults = Faults {
        conflict: 0.3,
        throttle: 0.2,
        timeout: 0.2,
        only: None,
    };
    let faulty = std::sync::Arc::new(FaultyTable::new(b.table.clone(), faults, 11));
    let (mut refused, mut timed_out) = (0, 0);
    for i in 0..60 {
        let key = Key::new(format!("FAULT#{i}"), "X");
        let writes = vec![
            TxWrite::Update {
                table: TableId::Main,
                key: key.clone(),
                update: Update::new().add("n", 1),
                cond: None,
            },
            TxWrite::Put {
                table: TableId::Main,
                item: item(json!({"pk": format!("FAULT#{i}"), "sk": "Y"}))?,
                cond: Some(Cond::NotExists),
            },
        ];
        let result = if i % 2 == 0 {
            faulty.transact(writes).await
        } else {
            faulty
                .update(TableId::Main, &key, Update::new().add("n", 1), None)
                .await
                .map(|_| ())
        };
        // What the backend underneath holds now.
        let stored = b.table.get(TableId::Main, &key).await?;
        match result {
            Ok(()) => ensure!(stored.is_some(), "{}: call {i} succeeded but wrote nothing", b.name),
            Err(StoreError::Throttled(_)) => {
                refused += 1;
                ensure!(
                    stored.is_none(),
                    "{}: call {i} was refused but wrote {stored:?}",
                    b.name
                );
            }
            Err(StoreError::Backend(_)) => {
                timed_out += 1;
                ensure!(
                    stored.is_some(),
                    "{}: a timeout's write lands underneath (call {i})",
                    b.name
                );
            }
            Err(e) => anyhow::bail!("{}: call {i}: unexpected {e}", b.name),
        }
    }
    let (conflicts, throttles, timeouts) = faulty.counts.get();
    ensure!(
        refused == conflicts + throttles && timed_out == timeouts,
        "{}: every fault counted: {refused} refused, {timed_out} timed out; counted {conflicts}/{throttles}/{timeouts}",
        b.name
    );
    ensure!(
        conflicts > 0 && throttles > 0 && timeouts > 0,
        "{}: each kind of fault happened ({conflicts}/{throttles}/{timeouts})",
        b.name
    );
    Ok(())
}
contract!(faults, super::faults_keep_the_contract);
