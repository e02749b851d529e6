//! The service tested from outside: real sockets, the fake LinkedIn over HTTP, and every test
//! on SQLite and on PostgreSQL, each with a database of its own.

mod support;

mod concurrency;
mod connect_flow;
mod connect_guards;
mod connect_storage;
mod logs;
mod notify;
mod refresh;
mod scheduling;
mod smtp;
mod storage;
