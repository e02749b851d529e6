//! One turn at a time per key, in this process: readers of one account who all find its token
//! about to end queue here, so that the first refreshes it and the others find it fresh. Keys
//! are forgotten when nobody holds or waits for their turn.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::OwnedMutexGuard;

/// Past this many keys, the forgotten ones are swept out on the next insert.
const SWEEP_ABOVE: usize = 1024;

pub struct Turns<K> {
    turns: Mutex<HashMap<K, Weak<tokio::sync::Mutex<()>>>>,
}

impl<K: Eq + Hash + Clone> Default for Turns<K> {
    fn default() -> Self {
        Self {
            turns: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone> Turns<K> {
    /// Waits for `key`'s turn; it lasts as long as the guard.
    pub async fn take(&self, key: &K) -> OwnedMutexGuard<()> {
        let turn = {
            let mut turns = self.turns.lock().expect("turns lock");
            match turns.get(key).and_then(Weak::upgrade) {
                Some(turn) => turn,
                None => {
                    if turns.len() >= SWEEP_ABOVE {
                        turns.retain(|_, turn| turn.strong_count() > 0);
                    }
                    let turn = Arc::new(tokio::sync::Mutex::new(()));
                    turns.insert(key.clone(), Arc::downgrade(&turn));
                    turn
                }
            }
        };
        turn.lock_owned().await
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.turns.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_taker_waits_until_the_first_is_done() {
        let turns = Arc::new(Turns::<u32>::default());
        let first = turns.take(&1).await;
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { turns.take(&1).await }
        });
        // Another key is not held up.
        drop(turns.take(&2).await);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the second taker of key 1 waits");
        drop(first);
        drop(waiting.await.unwrap());
    }

    #[tokio::test]
    async fn forgotten_keys_are_swept_out() {
        let turns = Turns::<usize>::default();
        for key in 0..SWEEP_ABOVE * 3 {
            drop(turns.take(&key).await);
        }
        assert!(turns.keys() <= SWEEP_ABOVE, "{} keys kept", turns.keys());
    }
}
