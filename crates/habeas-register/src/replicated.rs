//! A register kept by two stores: a primary that makes entries durable and is the truth
//! (a PostgreSQL server shared by several processes), and a local replica that checks each
//! request against its projections and answers this process's reads (an embedded SQLite
//! file).
//!
//! A request goes to the replica first, in its own savepoint: if the replica's projections
//! refuse it, it never reaches the primary. The batch is then committed on the primary, and
//! only then on the replica. A failed primary commit rolls the replica back, so the replica
//! never holds an entry the primary does not; a replica commit that fails after the primary's
//! leaves the replica behind, and it is caught up from the primary the next time it is opened.

use crate::entry::SealedEntry;
use crate::store::{AppendError, LogSink, StoreError, StoredCheckpoint};

/// The writer's sink over a primary and its local replica.
pub struct Replicated {
    primary: Box<dyn LogSink>,
    replica: Box<dyn LogSink>,
}

impl Replicated {
    pub fn new(primary: Box<dyn LogSink>, replica: Box<dyn LogSink>) -> Self {
        Self { primary, replica }
    }
}

impl LogSink for Replicated {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.replica.begin()?;
        if let Err(e) = self.primary.begin() {
            self.replica.rollback();
            return Err(e);
        }
        Ok(())
    }

    fn append_group(&mut self, entries: &[SealedEntry]) -> Result<(), AppendError> {
        self.replica.append_group(entries)?;
        // The replica took the request; the primary keeps it for the batch's commit. Should
        // the primary refuse, the batch cannot be committed as checked: the writer sees the
        // error and rolls both back.
        self.primary.append_group(entries).map_err(|e| {
            AppendError::Store(StoreError::Backend(format!(
                "the primary store refused a request its replica took: {e}"
            )))
        })
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if let Err(e) = self.primary.commit() {
            self.replica.rollback();
            return Err(e);
        }
        self.replica.commit().map_err(|e| {
            StoreError::Backend(format!(
                "the batch is durable in the primary store but its local replica could not commit ({e}); the replica is caught up when it is next opened"
            ))
        })
    }

    fn rollback(&mut self) {
        self.primary.rollback();
        self.replica.rollback();
    }

    fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StoreError> {
        self.primary.put_checkpoint(checkpoint)?;
        self.replica.put_checkpoint(checkpoint)
    }
    fn put_frontier(
        &mut self,
        size: u64,
        hashes: &[crate::merkle::Hash],
    ) -> Result<(), StoreError> {
        self.primary.put_frontier(size, hashes)?;
        self.replica.put_frontier(size, hashes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::entry::Draft;
    use crate::store::Rejection;
    use crate::Timestamp;
    use std::sync::{Arc, Mutex};

    /// What a sink was asked to do, in order.
    type Calls = Arc<Mutex<Vec<String>>>;

    struct Fake {
        name: &'static str,
        calls: Calls,
        /// Refuses requests whose subject is this.
        refuse: Option<&'static str>,
        fail_commit: bool,
    }

    impl LogSink for Fake {
        fn begin(&mut self) -> Result<(), StoreError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("{} begin", self.name));
            Ok(())
        }
        fn append_group(&mut self, entries: &[SealedEntry]) -> Result<(), AppendError> {
            if entries
                .iter()
                .any(|e| Some(e.entry.subject.as_str()) == self.refuse)
            {
                return Err(AppendError::Rejected(Rejection::field(
                    "subject", "refused",
                )));
            }
            for e in entries {
                self.calls
                    .lock()
                    .unwrap()
                    .push(format!("{} append {}", self.name, e.entry.index));
            }
            Ok(())
        }
        fn commit(&mut self) -> Result<(), StoreError> {
            if self.fail_commit {
                return Err(StoreError::Backend("connection lost".into()));
            }
            self.calls
                .lock()
                .unwrap()
                .push(format!("{} commit", self.name));
            Ok(())
        }
        fn rollback(&mut self) {
            self.calls
                .lock()
                .unwrap()
                .push(format!("{} rollback", self.name));
        }
        fn put_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("{} checkpoint {}", self.name, cp.size));
            Ok(())
        }
    }

    fn sealed(index: u64, subject: &str) -> SealedEntry {
        let draft = Draft {
            actor: "a".into(),
            facility: "F".into(),
            kind: "test.note".into(),
            subject: subject.into(),
            payload: serde_json::json!({}),
            corrects: None,
        };
        SealedEntry::seal(&draft, index, Timestamp(0), &[0; 16]).unwrap()
    }

    fn pair(fail_primary: bool) -> (Replicated, Calls) {
        let calls = Calls::default();
        let primary = Fake {
            name: "primary",
            calls: calls.clone(),
            refuse: None,
            fail_commit: fail_primary,
        };
        let replica = Fake {
            name: "replica",
            calls: calls.clone(),
            refuse: Some("bad"),
            fail_commit: false,
        };
        (Replicated::new(Box::new(primary), Box::new(replica)), calls)
    }

    #[test]
    fn a_request_the_replica_refuses_never_reaches_the_primary() {
        let (mut sink, calls) = pair(false);
        sink.begin().unwrap();
        sink.append_group(&[sealed(0, "ok")]).unwrap();
        let refused = sink.append_group(&[sealed(1, "bad")]).unwrap_err();
        assert!(matches!(refused, AppendError::Rejected(_)));
        sink.append_group(&[sealed(1, "ok")]).unwrap();
        sink.commit().unwrap();
        assert_eq!(
            *calls.lock().unwrap(),
            [
                "replica begin",
                "primary begin",
                "replica append 0",
                "primary append 0",
                "replica append 1",
                "primary append 1",
                "primary commit",
                "replica commit",
            ]
        );
    }

    #[test]
    fn a_failed_primary_commit_rolls_the_replica_back() {
        let (mut sink, calls) = pair(true);
        sink.begin().unwrap();
        sink.append_group(&[sealed(0, "ok")]).unwrap();
        assert!(sink.commit().is_err());
        let calls = calls.lock().unwrap();
        assert_eq!(calls.last().unwrap(), "replica rollback");
        assert!(!calls.iter().any(|c| c == "replica commit"));
    }

    #[test]
    fn checkpoints_go_to_the_primary_first() {
        let (mut sink, calls) = pair(false);
        let cp = StoredCheckpoint {
            size: 3,
            made_at: Timestamp(0),
            note: String::new(),
        };
        sink.put_checkpoint(&cp).unwrap();
        assert_eq!(
            *calls.lock().unwrap(),
            ["primary checkpoint 3", "replica checkpoint 3"]
        );
    }
}
