pub mod import_api;
pub mod import_command;
pub mod import_providers;
