//! The service tested from outside: real sockets, the fake LinkedIn over HTTP, and every test
//! on SQLite and on PostgreSQL, each with a database of its own.

mod support;

mod concurrency;
mod config_command;
mod connect_flow;
mod database_file;
mod hostile_smtp;
mod logs;
mod notify;
mod outbox;
mod refresh;
mod scheduling;
mod smtp;
mod storage;
