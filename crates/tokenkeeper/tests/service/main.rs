//! The service tested from outside: real sockets, the fake LinkedIn over HTTP, and every test
//! on SQLite, PostgreSQL and MariaDB, each with a database of its own.

// Support code every test uses: the harness, the databases' raw SQL, log capture, a webhook
// receiver, a store that fails on purpose.
mod support;

// The tests, one folder per feature.
mod admin;
mod api;
mod connect;
mod email;
mod import;
mod operations;
mod providers;
mod refresh;
mod storage;
mod webhooks;

fn main() {
    support::harness::main();
}
