//! The service tested from outside: real sockets, the fake LinkedIn over HTTP, and every test
//! on SQLite and on PostgreSQL, each with a database of its own.

mod support;

mod api_access;
mod callback_retries;
mod concurrency;
mod config_command;
mod connect_flow;
mod connect_guards;
mod connect_storage;
mod database_file;
mod hostile_linkedin;
mod hostile_smtp;
mod logs;
mod notify;
mod outbox;
mod panicking_store;
mod public_surface;
mod refresh;
mod reminder_planning;
mod scheduling;
mod server_limits;
mod smtp;
mod storage;
mod sweep_interruptions;
