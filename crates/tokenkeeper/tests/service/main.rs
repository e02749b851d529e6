//! The service tested from outside: real sockets, the fake LinkedIn over HTTP, and every test
//! on SQLite and on PostgreSQL, each with a database of its own.

mod harness;
mod metric_values;
mod raw_sql;
mod support;
mod webhook_receiver;

mod admin_browser;
mod admin_command;
mod admin_dashboard;
mod admin_storage;
mod alert_rules;
mod api_access;
mod binary_logs;
mod callback_input;
mod callback_retries;
mod concurrency;
mod config_command;
mod config_ranges;
mod connect_flow;
mod connect_guards;
mod connect_storage;
mod database_file;
mod deploy_env;
mod doctor;
mod email_backoff;
mod email_episodes;
mod email_links;
mod email_templates;
mod gathered_reads;
mod health;
mod host_api;
mod hostile_linkedin;
mod hostile_smtp;
mod import_api;
mod import_command;
mod kept_refresh_token;
mod key_required;
mod keys_command;
mod log_capture;
mod log_ids;
mod logs;
mod mail_worker;
mod notify;
mod outbox;
mod panicking_store;
mod public_surface;
mod readiness;
mod refresh;
mod refresh_claims;
mod refresh_pacing;
mod reminder_planning;
mod scheduling;
mod secrets_in_logs;
mod server_limits;
mod skip_reporting;
mod smtp;
mod state_changing_routes;
mod storage;
mod stored_names;
mod success_report;
mod sweep_command;
mod sweep_housekeeping;
mod sweep_interruptions;
mod sweep_signal;
mod sweep_slots;
mod task_supervision;
mod token_ends;
mod token_reads;
mod tokens_at_rest;
mod webhooks;

fn main() {
    harness::main();
}
