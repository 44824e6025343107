//! SQS semantics in memory: at-least-once delivery, visibility timeout, receive counts, and a
//! move to the dead-letter queue once a message has been received `MAX_RECEIVE_COUNT` times.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use mcamp_core::values::random_base62;
use mcamp_store::ports::{MAX_RECEIVE_COUNT, QueueId, Received};
use tokio::time::Instant;

struct Message {
    body: String,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<String>,
}

/// A message moved to a dead-letter queue: its old id, the DLQ, its new id there, its body.
pub type DeadLettered = (String, QueueId, String, String);

#[derive(Default)]
pub struct Queues {
    /// Per queue, messages by a sequence number so delivery is roughly first-in first-out.
    queues: HashMap<QueueId, BTreeMap<u64, (String, Message)>>,
    next: u64,
}

impl Queues {
    fn push(&mut self, queue: QueueId, id: String, body: String) {
        self.next += 1;
        let m = Message {
            body,
            visible_at: Instant::now(),
            receive_count: 0,
            receipt: None,
        };
        self.queues.entry(queue).or_default().insert(self.next, (id, m));
    }

    pub fn send(&mut self, queue: QueueId, body: String) -> String {
        let id = random_base62(22);
        self.push(queue, id.clone(), body);
        id
    }

    pub fn restore(&mut self, queue: QueueId, id: String, body: String) {
        self.push(queue, id, body);
    }

    pub fn forget(&mut self, queue: QueueId, id: &str) {
        if let Some(q) = self.queues.get_mut(&queue) {
            q.retain(|_, (mid, _)| mid != id);
        }
    }

    pub fn pending(&self) -> Vec<(QueueId, String, String)> {
        let mut out = Vec::new();
        for (q, msgs) in &self.queues {
            for (id, m) in msgs.values() {
                out.push((*q, id.clone(), m.body.clone()));
            }
        }
        out
    }

    /// Delivers up to `max` visible messages. Returns them and the messages moved to a
    /// dead-letter queue as `(old id, dlq, new id, body)`.
    pub fn receive(&mut self, queue: QueueId, max: usize, visibility: Duration) -> (Vec<Received>, Vec<DeadLettered>) {
        let now = Instant::now();
        let mut got = Vec::new();
        let mut dead = Vec::new();
        let Some(q) = self.queues.get_mut(&queue) else {
            return (got, Vec::new());
        };
        for (seq, (id, m)) in q.iter_mut() {
            if got.len() == max {
                break;
            }
            if m.visible_at > now {
                continue;
            }
            if m.receive_count >= MAX_RECEIVE_COUNT && queue.dead_letter().is_some() {
                dead.push(*seq);
                continue;
            }
            m.receive_count += 1;
            m.visible_at = now + visibility;
            let receipt = format!("{id}:{}", random_base62(16));
            m.receipt = Some(receipt.clone());
            got.push(Received {
                message_id: id.clone(),
                receipt,
                body: m.body.clone(),
                receive_count: m.receive_count,
            });
        }
        let mut moved = Vec::new();
        if let Some(dlq) = queue.dead_letter() {
            for seq in dead {
                if let Some((id, m)) = q.remove(&seq) {
                    moved.push((id, m.body));
                }
            }
            let mut out = Vec::new();
            for (id, body) in moved {
                let new_id = self.send(dlq, body.clone());
                out.push((id, dlq, new_id, body));
            }
            return (got, out);
        }
        (got, Vec::new())
    }

    /// Deletes the message whose latest receipt this is; returns its id.
    pub fn ack(&mut self, queue: QueueId, receipt: &str) -> Option<String> {
        let q = self.queues.get_mut(&queue)?;
        let seq = q
            .iter()
            .find(|(_, (_, m))| m.receipt.as_deref() == Some(receipt))
            .map(|(s, _)| *s)?;
        q.remove(&seq).map(|(id, _)| id)
    }

    pub fn retry_later(&mut self, queue: QueueId, receipt: &str, delay: Duration) {
        if let Some(q) = self.queues.get_mut(&queue) {
            for (_, m) in q.values_mut() {
                if m.receipt.as_deref() == Some(receipt) {
                    m.visible_at = Instant::now() + delay;
                }
            }
        }
    }

    /// The earliest time a message of `queue` becomes visible (in the past for one visible
    /// now); `None` for an empty queue. A receive that found nothing waits at most until then.
    pub fn next_visible(&self, queue: QueueId) -> Option<Instant> {
        self.queues.get(&queue)?.values().map(|(_, m)| m.visible_at).min()
    }

    pub fn depth(&self, queue: QueueId) -> usize {
        self.queues.get(&queue).map_or(0, BTreeMap::len)
    }
}
