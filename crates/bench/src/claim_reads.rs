//! How much of the table the claim statement reads, asked of the database itself: a count (or
//! a plan) that a busy machine cannot disturb, unlike the claim's time.

use crate::targets::ClaimReads;
use chrono::{DateTime, Duration, Utc};
use sqlx::{MySqlPool, PgPool, Row, SqlitePool};
use tokenkeeper::store::{claim_due_statement, Dialect};

/// Reads the claim of up to `limit` accounts due at `as_of`, without keeping the claim.
pub async fn measure(
    database_url: &str,
    as_of: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<ClaimReads> {
    let now = Utc::now();
    let until = now + Duration::minutes(5);
    if database_url.starts_with("sqlite:") {
        let pool = SqlitePool::connect(database_url).await?;
        let plan = sqlx::query(&format!(
            "EXPLAIN QUERY PLAN {}",
            claim_due_statement(Dialect::Sqlite)
        ))
        .bind(as_of)
        .bind(now)
        .bind(limit)
        .bind(until)
        .bind("bench-plan")
        .fetch_all(&pool)
        .await?;
        let details: Vec<String> = plan.iter().map(|r| r.get::<String, _>("detail")).collect();
        Ok(ClaimReads::FullScan(sqlite_scans_table(&details)))
    } else if crate::seed::is_mysql(database_url) {
        // MySQL's claim starts by reading the due rows; its plan says whether that reads the
        // whole table (access type ALL).
        let pool = MySqlPool::connect(database_url).await?;
        let plan = sqlx::query(&format!("EXPLAIN {}", claim_due_statement(Dialect::MySql)))
            .bind(as_of)
            .bind(now)
            .bind(limit)
            .fetch_all(&pool)
            .await?;
        let full_scan = plan.iter().any(|r| {
            let access: Option<String> = r.try_get("type").ok();
            access.as_deref() == Some("ALL")
        });
        Ok(ClaimReads::FullScan(full_scan))
    } else {
        let pool = PgPool::connect(database_url).await?;
        // EXPLAIN ANALYZE runs the claim; the rollback gives the rows back.
        let mut tx = pool.begin().await?;
        let plan = sqlx::query(&format!(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {}",
            claim_due_statement(Dialect::Postgres)
        ))
        .bind(as_of)
        .bind(now)
        .bind(limit)
        .bind(until)
        .bind("bench-plan")
        .fetch_all(&mut *tx)
        .await?;
        tx.rollback().await?;
        let lines: Vec<String> = plan.iter().map(|r| r.get::<String, _>(0)).collect();
        Ok(ClaimReads::Rows(postgres_rows_read(&lines)))
    }
}

/// SQLite names a whole-table read "SCAN social_network" (also through a covering index);
/// reading by index is "SEARCH".
fn sqlite_scans_table(details: &[String]) -> bool {
    details.iter().any(|d| {
        let mut words = d.split_whitespace();
        words.next() == Some("SCAN") && words.next() == Some("social_network")
    })
}

/// Sums, over the plan's scans of `social_network`, the rows each returned (times its loops)
/// and the rows it read and threw away.
fn postgres_rows_read(lines: &[String]) -> u64 {
    let mut total = 0;
    let mut in_table_scan = false;
    for line in lines {
        let text = line.trim_start().trim_start_matches("->").trim();
        if let Some(removed) = text
            .strip_prefix("Rows Removed by Filter:")
            .or_else(|| text.strip_prefix("Rows Removed by Index Recheck:"))
        {
            if in_table_scan {
                total += removed.trim().parse::<u64>().unwrap_or(0);
            }
            continue;
        }
        if !text.contains("(actual") {
            continue;
        }
        let node = text.split("(actual").next().unwrap_or_default();
        in_table_scan = node.split_whitespace().any(|w| w == "Scan") && scans_social_network(node);
        if in_table_scan {
            total += actual(text, "rows=") * actual(text, "loops=").max(1);
        }
    }
    total
}

/// "Seq Scan on social_network s" and the like; an index's own node names the index ("on
/// social_network_due"), whose rows the table scan above it counts again, and the Update node
/// only writes the rows the scans found.
fn scans_social_network(node: &str) -> bool {
    let mut words = node.split_whitespace();
    while let Some(word) = words.next() {
        if word == "on" {
            return words.next() == Some("social_network");
        }
    }
    false
}

fn actual(node: &str, key: &str) -> u64 {
    node.split_once("(actual")
        .and_then(|(_, a)| a.split_once(key))
        .map(|(_, v)| {
            v.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(plan: &str) -> Vec<String> {
        plan.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_postgres_plan_counts_table_rows_read_and_filtered_not_index_nodes() {
        let by_index = lines(
            "Update on social_network s (actual rows=100 loops=1)
  CTE due
    ->  Limit (actual rows=100 loops=1)
          ->  LockRows (actual rows=100 loops=1)
                ->  Sort (actual rows=100 loops=1)
                      ->  Bitmap Heap Scan on social_network (actual rows=100 loops=1)
                            Recheck Cond: (expiration <= $1)
                            Filter: ((claimed_until IS NULL) OR (claimed_until < $4))
                            ->  Bitmap Index Scan on social_network_due (actual rows=100 loops=1)
  ->  Nested Loop (actual rows=100 loops=1)
        ->  CTE Scan on due (actual rows=100 loops=1)
        ->  Index Scan using social_network_pkey on social_network s (actual rows=1 loops=100)",
        );
        assert_eq!(postgres_rows_read(&by_index), 200);
        let whole_table = lines(
            "Update on social_network s (actual rows=100 loops=1)
                      ->  Seq Scan on social_network (actual rows=100 loops=1)
                            Filter: (expiration <= $1)
                            Rows Removed by Filter: 4900
  ->  Hash Join (actual rows=100 loops=1)
        ->  Seq Scan on social_network s (actual rows=5000 loops=1)",
        );
        assert_eq!(postgres_rows_read(&whole_table), 10_000);
    }

    #[test]
    fn a_sqlite_plan_reading_the_whole_table_is_told_from_one_searching_an_index() {
        let by_index = [
            "SEARCH social_network USING INTEGER PRIMARY KEY (rowid=?)",
            "LIST SUBQUERY 1",
            "SEARCH social_network USING INDEX social_network_due (status=? AND expiration<?)",
        ]
        .map(String::from);
        assert!(!sqlite_scans_table(&by_index));
        let whole = ["LIST SUBQUERY 1", "SCAN social_network"].map(String::from);
        assert!(sqlite_scans_table(&whole));
    }
}
