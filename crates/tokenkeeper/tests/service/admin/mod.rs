pub mod admin_account_urls;
pub mod admin_browser;
pub mod admin_command;
pub mod admin_dashboard;
pub mod admin_providers;
pub mod admin_sign_in_flood;
pub mod admin_storage;
