pub mod import_api;
pub mod import_command;
